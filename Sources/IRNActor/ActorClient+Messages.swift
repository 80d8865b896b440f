import IRNSupport
import IRNWire
import Logging
import ZeroMQ

/// What the actor does with the server's messages.
extension ActorClient {
    func drain(_ s: Socket, broadcast: Bool) {
        for _ in 0..<256 {
            guard let frames = try? s.receive(dontWait: true) else { return }
            let env: WireEnvelope
            do { env = try WireFormat.decode(frames) } catch {
                logger.warning("bad message from server", metadata: ["reason": "\(error)"])
                continue
            }
            handle(env, broadcast: broadcast)
            if outcome != nil { return }
        }
    }

    func handle(_ env: WireEnvelope, broadcast: Bool) {
        if case .welcome(let w) = env.message {
            takeWelcome(w, now: monotonicSeconds())
            return
        }
        // A server (possibly a restarted one) that does not know us: say hello again.
        if !broadcast, case .bye(.unknownActor) = env.message {
            // (While joining, these are answers to messages sent before our Hello.)
            if session != nil {
                logger.info("server does not know us (restarted?); rejoining")
                rejoin()
            }
            return
        }
        // Anything from another server run is stale (the server restarted): ignore it, our next
        // message to the new server gets us a "say hello again".
        guard let current = session, env.senderRunId == current.serverRunId else { return }
        session?.lastHeard = monotonicSeconds()
        switch env.message {
        case .weights(let u):
            if current.awaitingSync { session?.buffer(env); return }
            switch replica.apply(u) {
            case .applied, .old: break
            case .gap: requestSync(); session?.buffer(env)
            case .mismatch(let why):
                logger.error("weight update does not match the model", metadata: ["reason": "\(why)"])
                requestSync()
            }
            publishVersions()
        case .targetRefresh(let r):
            if current.awaitingSync || !replica.refreshTarget(r) {
                session?.buffer(env)
                if !current.awaitingSync && r.weightVersion < replica.version { requestSync() }
            }
            publishVersions()
        case .ack(let a):
            session?.acknowledged(a, at: monotonicSeconds())
            bump {
                switch a.status {
                case .applied: $0.applied += 1
                case .stale: $0.stale += 1
                case .rejected, .unknownActor, .finished: $0.rejected += 1
                }
            }
        case .leaseGrant(let g):
            session?.awaitingGrant = false
            switch g.status {
            case .granted:
                if let l = g.lease { start(l) }
            case .wait:
                nextLeaseAsk = monotonicSeconds() + 0.2
            case .finished:
                outcome = .finished
            }
        case .bye(let reason):
            switch reason {
            case .finished:
                outcome = .finished
            case .serverShutdown:
                logger.info("server asks us to rejoin", metadata: ["reason": "\(reason)"])
                rejoin()
            case .leaving, .unknownActor:
                break
            }
        default:
            break
        }
    }

    private func requestSync() {
        guard let s = session, !s.awaitingSync else { return }
        session?.awaitingSync = true
        bump { $0.resyncs += 1 }
        send(.weightsRequest)
    }

    /// A Welcome answers our Hello (a join), a weights request (a resync), or comes from a new
    /// server run; each brings a full copy of the weights.
    private func takeWelcome(_ w: Welcome, now: Double) {
        let previous = session
        if let previous, previous.serverRunId == w.runId {
            session?.lastHeard = now
        } else {
            // A (re)join: the server's state is authoritative.
            if previous?.lease != nil { producer.abandon() }
            // Nothing of the previous run carries over: a lease request it left unanswered
            // would never be answered by the new run, and the actor would wait for it forever.
            state = .joined(Session(welcome: w, now: now))
            do {
                try producer.configure(settingsJSON: w.settingsJSON)
            } catch {
                logger.error("cannot use the server's settings", metadata: ["reason": "\(error)"])
                // Give back the shards the Welcome granted and leave, so the server hands them
                // to another actor now rather than after our heartbeat timeout.
                if let l = w.lease { send(.leaseReturn(leaseId: l.leaseId, progress: l.shards)) }
                send(.bye(.leaving))
                try? dealer.setLinger(1000)
                outcome = .refusedSettings("\(error)")
                return
            }
            bump { $0.joins += 1; $0.serverRunId = w.runId }
            logger.info("joined", metadata: ["run_id": "\(String(w.runId, radix: 16))", "step": "\(w.weightVersion)"])
        }
        replica.load(version: w.weightVersion, weights: w.weights, targetVersion: w.targetVersion, target: w.target)
        session?.awaitingSync = false
        if let l = w.lease { start(l) }
        // Replay broadcasts that arrived while we waited for this copy.
        let replay = session?.buffered ?? []
        session?.buffered = []
        for env in replay where env.senderRunId == w.runId { handle(env, broadcast: true) }
        publishVersions()
    }

    func publishVersions() {
        let v = replica.version, t = replica.targetVersion
        bump { $0.weightVersion = v; $0.targetVersion = t }
    }
}
