import Foundation
import IRNNumerics
import IRNSupport
import IRNWire
import ZeroMQ

/// Fuzzes the three ZeroMQ ports of an `irn-server` (P: actors, ROUTER; P+1: broadcast, PUB;
/// P+2: stats, REP) and checks afterwards that it still answers on all of them with finite
/// weights.
final class ClusterFuzzer {
    let host: String
    let port: Int
    let seed: UInt64
    let replyTimeoutMs: Int
    let context: Context
    /// Wire-level reasons (`WireError.label`): predicted exactly by decoding locally.
    static let wireLabels: Set<String> = ["framing", "magic", "version", "kind", "oversized", "checksum", "malformed", "non_finite", "range", "tensor"]

    init(target: String, seed: UInt64, replyTimeoutMs: Int = 5000) throws {
        guard target.hasPrefix("tcp://"), let colon = target.lastIndex(of: ":"),
              let p = Int(target[target.index(after: colon)...]) else {
            throw IRNError("--target must look like tcp://HOST:P, got '\(target)'")
        }
        host = String(target[target.index(target.startIndex, offsetBy: 6)..<colon])
        port = p
        self.seed = seed
        self.replyTimeoutMs = replyTimeoutMs
        context = try Context()
    }

    func endpoint(_ offset: Int) -> String { "tcp://\(host):\(port + offset)" }

    func dealer(_ identity: String) throws -> Socket {
        let s = try context.socket(.dealer)
        try s.setRoutingId(Array(identity.utf8))
        try s.setLinger(0)
        try s.connect(endpoint(0))
        return s
    }

    /// Waits for one message on `s`.
    func receive(_ s: Socket, timeoutMs: Int) throws -> [[UInt8]]? {
        guard try poll([s], timeoutMs: timeoutMs)[0] else { return nil }
        return try s.receive(dontWait: true)
    }

    // MARK: port P

    struct RouterSession {
        var actor: Socket
        var stranger: Socket
        var state = ForgeState()
        var known = false
        var rejected: [String: Int] = [:]
    }

    /// Sends a stats request on `s` and collects every reply before its answer: the replies to
    /// what was sent before (ROUTER/DEALER keep order), and the server's stats after it.
    func barrier(_ s: Socket, runId: UInt64, expectStatsReplies: Int = 1) throws -> (replies: [WireEnvelope], stats: [String: Any])? {
        try s.send(WireFormat.encode(.statsRequest, senderRunId: runId))
        var replies: [WireEnvelope] = []
        var statsSeen = 0
        let end = monotonicSeconds() + Double(replyTimeoutMs) / 1000
        while monotonicSeconds() < end {
            guard let frames = try receive(s, timeoutMs: max(1, Int((end - monotonicSeconds()) * 1000))) else { break }
            guard let env = try? WireFormat.decode(frames) else { continue }
            if case .statsReply(let json) = env.message {
                statsSeen += 1
                if statsSeen == expectStatsReplies, let obj = jsonObject(json) { return (replies, obj) }
            }
            replies.append(env)
        }
        return nil
    }

    static func rejectedMap(_ stats: [String: Any]) -> [String: Int] {
        (stats["rejected"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    func note(_ env: WireEnvelope, _ sess: inout RouterSession) {
        switch env.message {
        case .welcome(let w):
            sess.state.parts = w.weights.map { ($0.name, $0.shape) }
            sess.state.serverVersion = w.weightVersion
            sess.state.serverRunId = w.runId
            sess.state.lease = w.lease
            sess.known = true
        case .ack(let a):
            sess.state.serverVersion = a.weightVersion
        case .leaseGrant(let g):
            if let l = g.lease { sess.state.lease = l }
        case .bye(let r) where r == .unknownActor:
            sess.known = false
        default:
            break
        }
    }

    static func answerName(_ env: WireEnvelope) -> String {
        switch env.message {
        case .welcome: return "welcome"
        case .ack(let a): return "ack_\(a.status)"
        case .bye(let r): return "bye_\(r)"
        case .leaseGrant(let g): return "lease_grant_\(g.status)"
        case .statsReply: return "stats_reply"
        default: return "\(env.message.kind)"
        }
    }

    /// Says hello from the actor socket until welcomed.
    func join(_ sess: inout RouterSession) throws -> Bool {
        try sess.actor.send(WireFormat.encode(.hello(Hello(actorId: "irn-fuzz", host: "fuzz", threads: 1)), senderRunId: sess.state.runId))
        guard let b = try barrier(sess.actor, runId: sess.state.runId) else { return false }
        for r in b.replies { note(r, &sess) }
        sess.rejected = Self.rejectedMap(b.stats)
        return sess.known
    }

    func fuzzActorPort(messages: Int, progress: (Int) -> Void = { _ in }) throws -> PortReport {
        var report = PortReport(port: "P (\(endpoint(0)))", protocolName: "zmq-router")
        var sess = RouterSession(actor: try dealer("irn-fuzz-\(seed)"), stranger: try dealer("irn-fuzz-stranger-\(seed)"))
        defer { sess.actor.close(); sess.stranger.close() }
        var forge = WireForge(rng: FuzzRNG(seed: seed, stream: 1))
        guard try join(&sess) else {
            report.fail("no Welcome from \(endpoint(0)) within \(replyTimeoutMs) ms")
            return report
        }
        var predicted = Tally(), counted = Tally(), mismatches = 0
        var control = 0
        for i in 0..<messages {
            if !sess.known || i % 200 == 199 {
                // Control traffic (not counted as fuzz): rejoin after a goodbye, keep alive.
                control += 1
                if sess.known {
                    try sess.actor.send(WireFormat.encode(.heartbeat(leaseId: 0, progress: []), senderRunId: sess.state.runId))
                    if let b = try barrier(sess.actor, runId: sess.state.runId) {
                        b.replies.forEach { note($0, &sess) }
                        let now = Self.rejectedMap(b.stats)
                        if now != sess.rejected { report.fail("keep-alive heartbeat was counted as rejected: \(now) vs \(sess.rejected)") }
                        sess.rejected = now
                    }
                }
                if !sess.known, !(try join(&sess)) {
                    report.fail("message \(i): the server no longer welcomes a valid hello")
                    break
                }
            }
            if i % 1000 == 999 {
                if let problem = try weightsProblem() { report.fail("after \(i + 1) messages: \(problem)") }
                progress(i + 1)
            }
            let m = forge.make(&sess.state)
            let decoded: Result<WireEnvelope, WireError>
            do { decoded = .success(try WireFormat.decode(m.frames)) } catch { decoded = .failure(error) }
            var expectStats = 1
            if case .success(let env) = decoded, case .statsRequest = env.message { expectStats = 2 }
            let socket = m.stranger ? sess.stranger : sess.actor
            report.messages += 1
            report.byMutation.add(m.mutation)
            guard try socket.send(m.frames, dontWait: true) else {
                report.fail("message \(i): could not queue (high-water mark)")
                continue
            }
            guard let b = try barrier(socket, runId: sess.state.runId, expectStatsReplies: expectStats) else {
                report.timeouts += 1
                report.fail("message \(i) (\(m.mutation)): no stats answer within \(replyTimeoutMs) ms: server hung or gone")
                break
            }
            for r in b.replies { note(r, &sess); report.answers.add(Self.answerName(r)) }
            if case .success(let env) = decoded, !m.stranger {
                if case .bye = env.message { sess.known = false }
                if case .leaseComplete(let id, _) = env.message, id == sess.state.lease?.leaseId { sess.state.lease = nil }
                if case .leaseReturn(let id, _) = env.message, id == sess.state.lease?.leaseId { sess.state.lease = nil }
            }
            if let step = b.stats["step"] as? NSNumber { sess.state.serverVersion = step.uint64Value }
            let now = Self.rejectedMap(b.stats)
            var delta: [String: Int] = [:]
            for (k, v) in now where v != (sess.rejected[k] ?? 0) { delta[k] = v - (sess.rejected[k] ?? 0) }
            sess.rejected = now
            let outcome: String
            switch decoded {
            case .failure(let e):
                predicted.add(e.label)
                if delta != [e.label: 1] {
                    mismatches += 1
                    report.fail("message \(i) (\(m.mutation)): decoder says \(e.label), server counted \(delta)")
                }
                outcome = "rejected:\(e.label)"
            case .success:
                if delta.values.reduce(0, +) > 1 || delta.keys.contains(where: Self.wireLabels.contains) {
                    mismatches += 1
                    report.fail("message \(i) (\(m.mutation)): decodes, but the server counted \(delta)")
                }
                outcome = delta.keys.first.map { "rejected:\($0)" } ?? (b.replies.isEmpty ? "accepted" : "accepted:" + b.replies.map(Self.answerName).joined(separator: "+"))
            }
            for (k, v) in delta { counted.add(k, v) }
            report.answersByMutation.add(m.mutation, outcome)
        }
        report.extra["rejected_by_reason_server"] = counted.json
        report.extra["rejected_predicted_by_decoder"] = predicted.json
        report.extra["rejected_total_server"] = counted.total
        report.extra["count_mismatches"] = mismatches
        report.extra["control_messages"] = control
        report.extra["final_step"] = Int(sess.state.serverVersion)
        // Leave, so the shards this session may hold go back (the later checks need a lease).
        if sess.known {
            try sess.actor.send(WireFormat.encode(.bye(.leaving), senderRunId: sess.state.runId))
            _ = try barrier(sess.actor, runId: sess.state.runId)
        }
        return report
    }

    /// Asks for a lease until one is granted (the server refuses gradients under a lease the
    /// actor does not hold); false when none came within `tries` requests.
    func holdLease(_ sess: inout RouterSession, runId: UInt64, tries: Int = 30) throws -> Bool {
        for _ in 0..<tries where sess.state.lease == nil {
            try sess.actor.send(WireFormat.encode(.leaseRequest(maxShards: 0), senderRunId: runId))
            if let b = try barrier(sess.actor, runId: runId) { b.replies.forEach { note($0, &sess) } }
            if sess.state.lease == nil { usleep(100_000) }
        }
        return sess.state.lease != nil
    }

    // MARK: checks

    /// Fetches the weights and target network as `irn serve --follow` does (a read-only
    /// weights request) and says what is wrong with them, if anything.
    func weightsProblem() throws -> String? {
        let s = try dealer("irn-fuzz-check-\(seed)-\(UInt64(monotonicSeconds() * 1e6))")
        defer { s.close() }
        try s.send(WireFormat.encode(.weightsRequest, senderRunId: 1, flags: WireEnvelope.readOnlySubscriberFlag))
        guard let frames = try receive(s, timeoutMs: replyTimeoutMs) else { return "no answer to a weights request" }
        let env: WireEnvelope
        do { env = try WireFormat.decode(frames) } catch { return "the weights do not decode: \(error)" }
        guard case .welcome(let w) = env.message else { return "weights request not answered by a Welcome" }
        // The decoder refuses non-finite values, so a Welcome that decodes has finite weights;
        // checked again here to be explicit.
        for p in w.weights + w.target where !p.values.allSatisfy(\.isFinite) {
            return "non-finite values in \(p.name)"
        }
        return nil
    }

    func stats() throws -> [String: Any]? {
        let req = try context.socket(.req)
        defer { req.close() }
        try req.setLinger(0)
        try req.connect(endpoint(2))
        try req.send(WireFormat.encode(.statsRequest, senderRunId: 1))
        guard let frames = try receive(req, timeoutMs: replyTimeoutMs), case .statsReply(let json)? = try? WireFormat.decode(frames).message else { return nil }
        return jsonObject(json)
    }
}
