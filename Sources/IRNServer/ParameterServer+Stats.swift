import Foundation
import IRNSupport
import IRNWire

// The server's read-only face: its stats as a dictionary, as JSON on the REP socket (P+2),
// and through the `StatsBoard` for HTTP (P+3). Keys and meanings: `StatsSchema`.
extension ParameterServer {
    public func statsDictionary() -> [String: Any] {
        let now = monotonicSeconds()
        var rows: [[String: Any]] = []
        for (identity, a) in registry.rows.sorted(by: { $0.value.id < $1.value.id }) {
            rows.append([
                "id": a.id, "host": a.host, "threads": Int(a.threads),
                "shards": leases.shards(of: ActorRegistry.key(identity)).map { Int($0) },
                "pushes": Int(a.pushes), "applied": Int(a.applied), "stale": Int(a.stale),
                "staleness": Int(a.lastStaleness), "last_seen_s": (now - a.lastSeen).rounded3,
                "joined_s_ago": (now - a.joinedAt).rounded3, "bytes_in": Int(a.bytesIn),
            ])
        }
        let zapCounts = zap?.counts
        return [
            "run_id": String(runId, radix: 16),
            "uptime_s": (now - startTime).rounded3,
            "loop_cpu_s": loopCPUSeconds.rounded6,
            "step": Int(store.version),
            "updates_per_s": counters.updatesPerSecond(now: now, start: startTime).rounded3,
            "env_steps": Int(progress.envSteps),
            "epoch": Int(leases.epoch), "epochs": Int(leases.epochs), "finished": leases.finished,
            "shards_total": leases.shardSizes.count, "shards_done": leases.shardsDone,
            "sessions_this_epoch": Int(leases.sessionsThisEpoch),
            "target_version": Int(targetVersion),
            "pushes": Int(counters.pushes), "applied": Int(counters.applied),
            "dropped_stale": Int(counters.droppedStale),
            "rejected": counters.rejected.mapValues { Int($0) },
            "rejected_total": Int(counters.rejectedTotal),
            "refused_curve": zapCounts?.refused ?? 0,
            "refused_keys": Set(zapCounts?.lastRefusedKeys ?? []).count,
            "bytes_in": Int(counters.bytesIn), "bytes_out": Int(counters.bytesOut),
            "broadcast_bytes": Int(counters.broadcastBytes), "broadcasts": Int(counters.broadcasts),
            "actors_timed_out": Int(counters.actorsTimedOut),
            "staleness": ["median": Int(counters.stalenessQuantile(0.5)), "p95": Int(counters.stalenessQuantile(0.95)),
                          "max": Int(counters.recentStaleness.max() ?? 0)],
            "recent_losses": counters.recentLosses,
            "sessions_started": counters.sessionsStarted.map { Int($0) },
            "recent_means": counters.recentStats.mapValues { v in (v.reduce(0, +) / Double(max(v.count, 1))).rounded6 },
            "weight_bytes_per_update": counters.applied == 0 ? 0 : Int(counters.broadcastBytes / counters.applied),
            "events": Int(counters.events), "push_bytes": Int(counters.pushBytes),
            "push_bytes_per_event": counters.events == 0 ? 0 : (Double(counters.pushBytes) / Double(counters.events)).rounded3,
            "broadcast_bytes_per_event_per_actor": counters.events == 0 ? 0 : (Double(counters.broadcastBytes) / Double(counters.events)).rounded3,
            "checkpoints_written": Int(checkpointer?.written ?? 0),
            "checkpoint_failures": Int(checkpointer?.failures ?? 0),
            "checkpoint_last_error": checkpointer?.lastError ?? "",
            "checkpoint_step": checkpointer?.lastGoodVersion.map { Int($0) } ?? -1,
            "eval": evalMetrics.current,
            "actors": rows,
        ]
    }

    /// The stats as one JSON object with sorted keys.
    public func statsJSON() -> String {
        let data = (try? JSONSerialization.data(withJSONObject: statsDictionary(), options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    func serveStats() throws {
        guard let frames = try sockets.stats.receive(dontWait: true) else { return }
        counters.bytesIn += UInt64(frames.reduce(0) { $0 + $1.count })
        let answer: String
        do {
            let env = try WireFormat.decode(frames, maxBytes: 1 << 20)
            if case .statsRequest = env.message {
                answer = statsJSON()
            } else {
                reject("unexpected_kind", "\(env.message.kind) on the stats port")
                answer = #"{"error":"expected a stats request"}"#
            }
        } catch {
            reject(error.label, error.description)
            answer = "{\"error\":\"\(error.label)\"}"
        }
        let out = WireFormat.encode(.statsReply(json: answer), senderRunId: runId, weightVersion: store.version)
        counters.bytesOut += UInt64(out.reduce(0) { $0 + $1.count })
        try sockets.stats.send(out)
    }
}
