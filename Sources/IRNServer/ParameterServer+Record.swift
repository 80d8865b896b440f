import Foundation

// Writing the server's record (`ServerRecord`, `--record FILE`). The lease table is compared
// before and after each message or event instead of hooking every place that changes it: one
// place, and nothing that changes the table can be missed by a future edit elsewhere.
extension ParameterServer {
    /// The `start` line: where this run's weights and shard progress come from.
    func recordStart(resumedChecksum: String?, skipped: [URL]) {
        guard let record else { return }
        let l = registry.leases
        record.write("start", run: runId, [
            "pid": Int(getpid()), "version": Int(store.version), "epoch": Int(l.epoch), "epochs": Int(l.epochs),
            "progress": l.progress.map { Int($0) }, "shard_sizes": l.shardSizes.map { Int($0) },
            "resumed_file": resumedFrom?.lastPathComponent ?? "", "resumed_checksum": resumedChecksum ?? "",
            "skipped": skipped.map(\.lastPathComponent), "heartbeat_timeout": config.heartbeatTimeout,
            "sessions_started": counters.sessionsStarted.map { Int($0) },
        ])
    }

    /// Lines for what changed in the lease table since `before`: grants, ended leases,
    /// committed progress (sessions started) and new epochs. `via` names the cause.
    func recordLeaseChanges(from before: LeaseManager, via: String) {
        guard let record else { return }
        let after = registry.leases
        let version = Int(store.version)
        func holder(_ shard: Int) -> (lease: Int, actor: String) {
            for m in [before.leases, after.leases] {
                if let (id, h) = m.first(where: { $0.value.shards.contains(UInt32(shard)) }) { return (Int(id), h.actor) }
            }
            return (0, "")
        }
        func commit(_ epoch: UInt32, _ s: Int, _ from: UInt64, _ to: UInt64) {
            let h = holder(s)
            record.write("commit", run: runId, ["epoch": Int(epoch), "shard": s, "from": Int(from), "to": Int(to),
                                                "lease": h.lease, "actor": h.actor, "via": via, "version": version])
        }
        for (id, h) in after.leases.sorted(by: { $0.key < $1.key }) where before.leases[id] == nil {
            record.write("lease", run: runId, ["lease": Int(id), "actor": h.actor, "epoch": Int(after.epoch),
                                               "shards": h.shards.map { Int($0) },
                                               "done": h.shards.map { Int(after.progress[Int($0)]) }])
        }
        if after.epoch == before.epoch {
            for s in after.progress.indices where after.progress[s] != before.progress[s] {
                commit(after.epoch, s, before.progress[s], after.progress[s])
            }
        } else {
            // The message finished the epoch: its last commits, then the new epoch(s).
            for s in before.progress.indices where before.progress[s] < before.shardSizes[s] {
                commit(before.epoch, s, before.progress[s], before.shardSizes[s])
            }
            for e in (before.epoch + 1)...after.epoch {
                record.write("epoch", run: runId, ["epoch": Int(e), "finished": e >= after.epochs, "version": version])
            }
            if !after.finished {
                for s in after.progress.indices where after.progress[s] > 0 { commit(after.epoch, s, 0, after.progress[s]) }
            }
        }
        for (id, h) in before.leases.sorted(by: { $0.key < $1.key }) where after.leases[id] == nil {
            record.write("lease_end", run: runId, ["lease": Int(id), "actor": h.actor, "via": via])
        }
    }

    /// A gradient that reached the weights (`version`: the version it produced).
    func recordApplied(actor: String, sender: UInt64, _ g: GradientIdentity) {
        record?.write("applied", run: runId, ["actor": actor, "sender": String(sender, radix: 16), "seq": Int(g.sequence),
                                              "lease": Int(g.leaseId), "version": Int(store.version), "base": Int(g.base)])
    }

    /// A gradient that did not reach the weights, and why.
    func recordRefused(actor: String, sender: UInt64, _ g: GradientIdentity, reason: String) {
        record?.write("refused", run: runId, ["actor": actor, "sender": String(sender, radix: 16), "seq": Int(g.sequence),
                                              "lease": Int(g.leaseId), "base": Int(g.base), "reason": reason])
    }
}

/// What identifies a gradient push in the record: the actor process (`sender`, its run id),
/// its push number, the lease it was computed under and the weight version it was computed on.
struct GradientIdentity {
    var sequence: UInt64
    var leaseId: UInt64
    var base: UInt64
}
