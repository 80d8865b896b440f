import IRNSupport
import IRNWire

// What the server does with the actors' messages (port P): joins, leases, heartbeats,
// gradients, goodbyes.
extension ParameterServer {
    func drainRouter() throws {
        // A time budget, so that under a stream of gradients the stats, HTTP and periodic
        // work (heartbeat timeouts, checkpoints, broadcasts) still get their turn.
        let until = monotonicSeconds() + 0.05
        for _ in 0..<256 {
            if monotonicSeconds() > until { return }
            // Frames stay in libzmq's buffers: the decoder reads tensors from there directly.
            guard let frames = try sockets.router.receiveFrames(dontWait: true) else { return }
            let size = frames.reduce(0) { $0 + $1.count }
            counters.bytesIn += UInt64(size)
            guard frames.count >= 2 else {
                reject("framing", "message without payload")
                continue
            }
            let identity = frames[0].bytes
            let payload = Array(frames.dropFirst())
            let env: WireEnvelope, tensors: [TensorPartView]
            do {
                (env, tensors) = try WireFormat.decodeBorrowingTensors(payload, maxBytes: config.maxMessageBytes)
            } catch {
                reject(error.label, error.description)
                continue
            }
            // A gradient's tensors point into `payload`: keep it alive until it is applied.
            withExtendedLifetime(payload) { handle(env, tensors: tensors, from: identity, bytes: size) }
        }
    }

    private func handle(_ env: WireEnvelope, tensors: [TensorPartView], from identity: [UInt8], bytes: Int) {
        let now = monotonicSeconds()
        let before = record == nil ? nil : registry.leases
        defer { if let before { recordLeaseChanges(from: before, via: "\(env.message.kind)") } }
        switch env.message {
        case .hello(let h):
            record?.write("join", run: runId, ["actor": ActorRegistry.key(identity), "actor_id": h.actorId,
                                               "rejoin": registry[identity] != nil || (h.knownRunId != 0 && h.knownRunId != runId)])
            registry.join(identity, h, now: now)
            let grant = registry.leases.grant(to: ActorRegistry.key(identity), maxShards: config.shardsPerLease)
            flushBroadcast()
            reply(identity, welcome(lease: grant.lease))
            logger.info("actor joined", metadata: [
                "actor": "\(h.actorId)", "host": "\(h.host)", "threads": "\(h.threads)",
                "rejoin": "\(h.knownRunId != 0 && h.knownRunId != runId)",
                "shards": "\(grant.lease?.shards.map(\.shard) ?? [])",
            ])
            return
        case .statsRequest:
            reply(identity, .statsReply(json: statsJSON()))
            return
        case .weightsRequest where env.flags & WireEnvelope.readOnlySubscriberFlag != 0 && registry[identity] == nil:
            // A read-only subscriber (`irn serve --follow`): a copy of the weights, no lease.
            flushBroadcast()
            reply(identity, welcome(lease: nil))
            return
        default:
            break
        }
        guard let row = registry.heard(identity, bytes: bytes, now: now) else {
            // Unknown (timed out, or we restarted): tell it to say hello again.
            counters.rejected["unknown_actor", default: 0] += 1
            if case .gradient(let g) = env.message {
                recordRefused(actor: ActorRegistry.key(identity), sender: env.senderRunId,
                              GradientIdentity(sequence: g.sequence, leaseId: g.leaseId, base: env.weightVersion), reason: "unknown_actor")
            }
            reply(identity, .bye(.unknownActor))
            return
        }
        let actorKey = ActorRegistry.key(identity)
        switch env.message {
        case .gradient(let g):
            counters.pushBytes &+= UInt64(bytes)
            // Counts from the wire are checked before any arithmetic on them: a huge value
            // would trap on conversion or overflow (found by `irn fuzz`).
            if let why = Self.implausibleCounts(g) {
                reject("bad_counts", why)
                recordRefused(actor: actorKey, sender: env.senderRunId,
                              GradientIdentity(sequence: g.sequence, leaseId: g.leaseId, base: env.weightVersion), reason: "bad_counts")
                reply(identity, .ack(Ack(sequence: g.sequence, status: .rejected, weightVersion: store.version, targetVersion: targetVersion)))
                return
            }
            counters.events &+= UInt64(max(0, g.stats["events"] ?? Double(g.envSteps)))
            handleGradient(g, tensors: tensors, baseVersion: env.weightVersion, identity: identity, actorKey: actorKey,
                           sender: env.senderRunId)
        case .heartbeat(let id, let p):
            // Lease 0: a heartbeat of an actor without a lease (only says it is alive).
            if id != 0 && !registry.leases.isHeld(leaseId: id, by: actorKey) {
                reject("stale_lease", "heartbeat for lease \(id), not held by \(row.id)")
                return
            }
            registry.leases.commit(leaseId: id, actor: actorKey, progress: p)
        case .leaseRequest(let n):
            reply(identity, .leaseGrant(registry.leases.grant(to: actorKey, maxShards: n == 0 ? config.shardsPerLease : Int(n))))
        case .leaseComplete(let id, let p), .leaseReturn(let id, let p):
            guard registry.leases.isHeld(leaseId: id, by: actorKey) else {
                reject("stale_lease", "\(env.message.kind) of lease \(id), not held by \(row.id)")
                return
            }
            registry.leases.commit(leaseId: id, actor: actorKey, progress: p)
            registry.leases.end(leaseId: id)
        case .weightsRequest:
            flushBroadcast()
            reply(identity, welcome(lease: nil))
        case .bye:
            let shards = registry.leave(identity)
            logger.info("actor left", metadata: ["actor": "\(row.id)", "returned_shards": "\(shards)"])
        default:
            reject("unexpected_kind", "\(env.message.kind) from an actor")
        }
    }

    /// The most environment steps (and sessions, events) one gradient may claim: far above any
    /// real push (a window of slots x steps), far below where sums over a run could overflow.
    static let maxCountsPerPush: Double = 4_294_967_296

    /// Why a gradient's counts cannot be real (nil: plausible).
    static func implausibleCounts(_ g: GradientPush) -> String? {
        guard Double(g.envSteps) <= maxCountsPerPush else { return "env steps \(g.envSteps) > 2^32" }
        for key in ["sessions", "events"] {
            if let v = g.stats[key], !(v >= 0 && v <= maxCountsPerPush) { return "stat \(key) = \(v) outside 0...2^32" }
        }
        return nil
    }

    private func handleGradient(_ g: GradientPush, tensors: [TensorPartView], baseVersion: UInt64, identity: [UInt8], actorKey: String,
                                sender: UInt64) {
        counters.pushes += 1
        registry[identity]?.pushes += 1
        let id = GradientIdentity(sequence: g.sequence, leaseId: g.leaseId, base: baseVersion)
        func ack(_ status: AckStatus) {
            reply(identity, .ack(Ack(sequence: g.sequence, status: status, weightVersion: store.version, targetVersion: targetVersion)))
        }
        // A gradient of shards this actor no longer holds (it was stopped or cut off past the
        // heartbeat timeout, and its shards went on with another actor, which redoes the
        // sessions this gradient covers): applying it would count those sessions twice.
        guard leases.isHeld(leaseId: g.leaseId, by: actorKey) else {
            reject("lease_not_held", "gradient \(g.sequence) under lease \(g.leaseId), not held by \(registry[identity]?.id ?? actorKey)")
            recordRefused(actor: actorKey, sender: sender, id, reason: "lease_not_held")
            return ack(.rejected)
        }
        // Progress is committed with the push even when the gradient is dropped as stale:
        // the sessions were visited; only their (too old) gradient is discarded.
        let epochBefore = Int(leases.epoch)
        registry.leases.commit(leaseId: g.leaseId, actor: actorKey, progress: g.progress)
        if let n = g.stats["sessions"], n > 0 {
            while counters.sessionsStarted.count <= epochBefore { counters.sessionsStarted.append(0) }
            counters.sessionsStarted[epochBefore] &+= UInt64(n)
        }
        counters.noteStats(g.stats)
        progress.envSteps &+= g.envSteps
        let version = store.version
        guard baseVersion <= version else {
            reject("version_ahead", "gradient on version \(baseVersion) > \(version)")
            recordRefused(actor: actorKey, sender: sender, id, reason: "version_ahead")
            return ack(.rejected)
        }
        let staleness = version - baseVersion
        counters.noteStaleness(staleness)
        registry[identity]?.lastStaleness = staleness
        if let loss = g.stats["loss"] { counters.noteLoss(loss) }
        if let bound = config.maxStaleness, staleness > bound {
            counters.droppedStale += 1
            registry[identity]?.stale += 1
            recordRefused(actor: actorKey, sender: sender, id, reason: "stale")
            return ack(.stale)
        }
        do {
            noteApplied(try store.apply(views: tensors))
        } catch let e as ModelRejection {
            reject(e.reason, e.detail)
            return ack(.rejected)
        } catch {
            reject("model", "\(error)")
            recordRefused(actor: actorKey, sender: sender, id, reason: "model")
            return ack(.rejected)
        }
        counters.applied += 1
        registry[identity]?.applied += 1
        recordApplied(actor: actorKey, sender: sender, id)
        advanceTargetSchedule(envSteps: g.envSteps)
        onUpdate?(self, store.version)
        ack(.applied)
    }
}
