import Foundation
import IRNSupport
import IRNWire
import ZeroMQ

extension ClusterFuzzer {
    // MARK: port P+2 (REP)

    /// Every message gets an answer on REQ/REP: the stats for a stats request, else
    /// {"error": reason}. The answers must match what the decoder predicts, and the server's
    /// rejection counters must move by exactly the refusals.
    func fuzzStatsPort(messages: Int) throws -> PortReport {
        var report = PortReport(port: "P+2 (\(endpoint(2)))", protocolName: "zmq-rep")
        var forge = WireForge(rng: FuzzRNG(seed: seed, stream: 2))
        var state = ForgeState()
        state.parts = [("policy.w", [4, 3])]
        guard let before = try stats() else {
            report.fail("no stats from \(endpoint(2))")
            return report
        }
        var expected = Tally(), mismatches = 0
        var req = try context.socket(.req)
        try req.setLinger(0)
        try req.connect(endpoint(2))
        defer { req.close() }
        for i in 0..<messages {
            let m = forge.make(&state, statsPort: true)
            var want: String
            do {
                let env = try WireFormat.decode(m.frames, maxBytes: 1 << 20)
                if case .statsRequest = env.message { want = "stats" } else { want = "unexpected_kind" }
            } catch {
                want = error.label
            }
            if want != "stats" { expected.add(want) }
            report.messages += 1
            report.byMutation.add(m.mutation)
            try req.send(m.frames)
            guard let frames = try receive(req, timeoutMs: replyTimeoutMs) else {
                report.timeouts += 1
                report.fail("message \(i) (\(m.mutation)): no answer within \(replyTimeoutMs) ms")
                req.close()
                req = try context.socket(.req)
                try req.setLinger(0)
                try req.connect(endpoint(2))
                if try stats() == nil { report.fail("the stats port stopped answering"); break }
                continue
            }
            var got = "undecodable_answer"
            if case .statsReply(let json)? = try? WireFormat.decode(frames).message, let obj = jsonObject(json) {
                if obj["run_id"] != nil { got = "stats" } else if let e = obj["error"] as? String {
                    got = e == "expected a stats request" ? "unexpected_kind" : e
                }
            }
            report.answers.add(got)
            report.answersByMutation.add(m.mutation, got)
            if got != want {
                mismatches += 1
                report.fail("message \(i) (\(m.mutation)): expected \(want), answered \(got)")
            }
        }
        guard let after = try stats() else {
            report.fail("no stats after the run")
            return report
        }
        let b = Self.rejectedMap(before), a = Self.rejectedMap(after)
        var delta = Tally()
        for (k, v) in a where v != (b[k] ?? 0) { delta.add(k, v - (b[k] ?? 0)) }
        if delta.counts != expected.counts {
            report.fail("server counted \(delta.counts), expected \(expected.counts)")
        }
        report.extra["rejected_by_reason_server"] = delta.json
        report.extra["rejected_expected"] = expected.json
        report.extra["rejected_total_server"] = delta.total
        report.extra["count_mismatches"] = mismatches
        return report
    }

    // MARK: port P+1 (PUB)

    /// A PUB socket only ever reads ZMTP handshakes and subscription messages from its peers.
    /// Each fuzz message is one raw TCP connection speaking ZMTP 3 as a SUB peer, with one
    /// field of the greeting, the READY command or the subscription frames mutated (or random
    /// bytes); the server's greeting is read back, then the connection is closed.
    func fuzzBroadcastPort(messages: Int) throws -> PortReport {
        var report = PortReport(port: "P+1 (\(endpoint(1)))", protocolName: "zmtp-raw (PUB)")
        var rng = FuzzRNG(seed: seed, stream: 3)
        for i in 0..<messages {
            let (bytes, mutation) = ZMTPForge.make(&rng)
            report.messages += 1
            report.byMutation.add(mutation)
            let conn: RawTCP
            do { conn = try RawTCP(host: host, port: port + 1, timeout: 1) } catch {
                report.fail("message \(i): cannot connect to \(endpoint(1)): \(error)")
                break
            }
            conn.write(bytes)
            conn.shutdownWrite()
            let (reply, end) = conn.read(limit: 4096)
            var answer = reply.count >= 10 && reply[0] == 0xFF && reply[9] == 0x7F ? "greeting" : reply.isEmpty ? "nothing" : "bytes"
            answer += end == .timedOut ? "+open" : "+closed"
            if end == .timedOut { report.timeouts += 1 }
            report.answers.add(answer)
            report.answersByMutation.add(mutation, answer)
        }
        // A well-behaved subscriber still gets the broadcast afterwards.
        report.extra["subscriber_after"] = try broadcastStillWorks() ?? "ok"
        if let p = report.extra["subscriber_after"] as? String, p != "ok" { report.fail("after the run: \(p)") }
        return report
    }

    /// Subscribes like an actor, pushes one valid gradient as a joined actor and waits for the
    /// weight patch (or any broadcast) on P+1. Nil when it arrives.
    func broadcastStillWorks() throws -> String? {
        let sub = try context.socket(.sub)
        defer { sub.close() }
        try sub.setLinger(0)
        try sub.subscribe()
        try sub.connect(endpoint(1))
        usleep(200_000)  // the subscription travels to the server
        var sess = RouterSession(actor: try dealer("irn-fuzz-bcast-\(seed)"), stranger: try dealer("irn-fuzz-bcast2-\(seed)"))
        defer { sess.actor.close(); sess.stranger.close() }
        guard try join(&sess) else { return "no Welcome for the broadcast check" }
        guard try holdLease(&sess, runId: 7) else { return "no lease for the broadcast check" }
        defer {  // give the lease back for the checks after this one
            _ = try? sess.actor.send(WireFormat.encode(.bye(.leaving), senderRunId: 7))
            _ = try? barrier(sess.actor, runId: 7)
        }
        var forge = WireForge(rng: FuzzRNG(seed: seed, stream: 4))
        let deadline = monotonicSeconds() + Double(replyTimeoutMs) / 1000 * 2
        while monotonicSeconds() < deadline {
            let (kind, fields, frames, _) = forge.valid("gradient", &sess.state)
            var body = LEWriter()
            for f in fields { f.write(&body) }
            try sess.actor.send(sealFrames(HeaderSpec(kind: kind, runId: 7, weightVersion: sess.state.serverVersion), payload: [body.bytes] + frames))
            if let b = try barrier(sess.actor, runId: 7) {
                b.replies.forEach { note($0, &sess) }
                if let step = b.stats["step"] as? NSNumber { sess.state.serverVersion = step.uint64Value }
            }
            if let frames = try receive(sub, timeoutMs: 300) {
                guard let env = try? WireFormat.decode(frames) else { return "undecodable broadcast" }
                if case .weights(let u) = env.message, let bad = u.parts.first(where: { !$0.values.allSatisfy(\.isFinite) }) {
                    return "non-finite broadcast of \(bad.name)"
                }
                return nil
            }
        }
        return "no broadcast on \(endpoint(1)) after valid gradients"
    }

    /// Sequences a single message cannot show: `count` consecutive gradients whose every value
    /// is the same huge positive number (Adam's moments grow together): the first half just
    /// under the wire's limit of 2^60 (applied), the rest Float.greatestFiniteMagnitude (refused);
    /// then the weights are fetched and checked. Returns (answers, problem or nil).
    func hugeGradientBurst(count: Int) throws -> (answers: [String: Int], problem: String?) {
        var sess = RouterSession(actor: try dealer("irn-fuzz-burst-\(seed)"), stranger: try dealer("irn-fuzz-burst2-\(seed)"))
        defer { sess.actor.close(); sess.stranger.close() }
        guard try join(&sess) else { return ([:], "no Welcome for the burst") }
        guard try holdLease(&sess, runId: 9) else { return ([:], "no lease for the burst") }
        var forge = WireForge(rng: FuzzRNG(seed: seed, stream: 5))
        var answers = Tally()
        for i in 0..<count {
            var g = forge.validGradient(&sess.state)
            // First half: the largest value a gradient may carry (just under 2^60), applied;
            // second half: Float.greatestFiniteMagnitude, refused (reason "range").
            let big = i < count / 2 ? Float(bitPattern: UInt32(126 + WireLimits.maxGradientExponent) << 23 | 0x7F_FFFF) : Float.greatestFiniteMagnitude
            for k in g.parts.indices { for j in g.parts[k].values.indices { g.parts[k].values[j] = big } }
            let (fields, frames) = forge.encode(g)
            var body = LEWriter()
            for f in fields { f.write(&body) }
            try sess.actor.send(sealFrames(HeaderSpec(kind: WireKind.gradient.rawValue, runId: 9, weightVersion: sess.state.serverVersion),
                                           payload: [body.bytes] + frames))
            guard let b = try barrier(sess.actor, runId: 9) else { return (answers.counts, "no answer to burst gradient \(i)") }
            for r in b.replies { note(r, &sess); answers.add(Self.answerName(r)) }
            if let step = b.stats["step"] as? NSNumber { sess.state.serverVersion = step.uint64Value }
        }
        try sess.actor.send(WireFormat.encode(.bye(.leaving), senderRunId: 9))
        _ = try barrier(sess.actor, runId: 9)
        return (answers.counts, try weightsProblem())
    }

    /// Each port still answers: a valid Hello on P, stats on P+2, a ZMTP greeting on P+1.
    func portsAnswer() throws -> [String: String] {
        var out: [String: String] = [:]
        var sess = RouterSession(actor: try dealer("irn-fuzz-probe-\(seed)"), stranger: try dealer("irn-fuzz-probe2-\(seed)"))
        out["P"] = try join(&sess) ? "ok" : "no Welcome"
        // Leave, so the probe holds no lease.
        try sess.actor.send(WireFormat.encode(.bye(.leaving), senderRunId: 1))
        _ = try barrier(sess.actor, runId: 1)
        sess.actor.close(); sess.stranger.close()
        out["P+2"] = try stats() != nil ? "ok" : "no stats"
        if let c = try? RawTCP(host: host, port: port + 1, timeout: 2) {
            c.write(ZMTPForge.greeting(major: 3, minor: 0, mechanism: "NULL"))
            let (r, _) = c.read(limit: 64) { $0.count >= 10 }
            out["P+1"] = r.count >= 10 && r[0] == 0xFF ? "ok" : "no greeting"
        } else {
            out["P+1"] = "connection refused"
        }
        return out
    }
}

/// Raw ZMTP 3 bytes as a SUB peer would send them, with mutations.
enum ZMTPForge {
    static func greeting(major: UInt8, minor: UInt8, mechanism: String, asServer: UInt8 = 0) -> [UInt8] {
        var g: [UInt8] = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, major, minor]
        var mech = Array(mechanism.utf8.prefix(20))
        mech += Array(repeating: 0, count: 20 - mech.count)
        g += mech
        g.append(asServer)
        g += Array(repeating: 0, count: 31)
        return g
    }

    /// A command or message frame: flags (0x04 command, 0x02 long size), size, body.
    static func frame(_ body: [UInt8], command: Bool = false, long: Bool = false, sizeLie: UInt64? = nil) -> [UInt8] {
        let size = sizeLie ?? UInt64(body.count)
        var f: [UInt8] = [(command ? 0x04 : 0) | (long || size > 255 ? 0x02 : 0)]
        if long || size > 255 {
            for s in stride(from: 56, through: 0, by: -8) { f.append(UInt8(truncatingIfNeeded: size >> UInt64(s))) }
        } else {
            f.append(UInt8(size))
        }
        return f + body
    }

    static func ready(socketType: [UInt8], nameLie: UInt8? = nil, valueLie: UInt32? = nil) -> [UInt8] {
        var body: [UInt8] = [5] + Array("READY".utf8)
        let name = Array("Socket-Type".utf8)
        body.append(nameLie ?? UInt8(name.count))
        body += name
        let v = valueLie ?? UInt32(socketType.count)
        body += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        body += socketType
        return frame(body, command: true)
    }

    static func make(_ rng: inout FuzzRNG) -> (bytes: [UInt8], mutation: String) {
        var greet = greeting(major: 3, minor: 0, mechanism: "NULL")
        var ready = Self.ready(socketType: Array("SUB".utf8))
        var subs: [[UInt8]] = [frame([1]), frame([1] + Array("IRNW".utf8))]
        var mutation = "valid_subscribe"
        switch rng.int(16) {
        case 0: mutation = "valid_subscribe"
        case 1:
            subs.append(frame([0]))
            mutation = "valid_unsubscribe"
        case 2:
            greet[rng.int(10)] ^= UInt8(truncatingIfNeeded: rng.int(in: 1...255))
            mutation = "greeting.signature"
        case 3:
            greet[10] = rng.pick([0, 1, 2, 4, 255]); greet[11] = UInt8(rng.int(256))
            mutation = "greeting.version"
        case 4:
            greet = greeting(major: 3, minor: 0, mechanism: rng.pick(["PLAIN", "CURVE", "GSSAPI", "XXXX", "", "NULL\u{1}"]))
            mutation = "greeting.mechanism"
        case 5:
            greet[32] = rng.pick([1, 2, 255])
            mutation = "greeting.as_server"
        case 6:
            greet = Array(greet.prefix(rng.int(64)))
            ready = []; subs = []
            mutation = "greeting.truncated"
        case 7:
            ready = Self.ready(socketType: rng.pick([Array("PUB".utf8), Array("ROUTER".utf8), Array("XSUB".utf8), rng.bytes(rng.int(12)), []]))
            mutation = "ready.socket_type"
        case 8:
            ready = Self.ready(socketType: Array("SUB".utf8), nameLie: rng.pick([0, 12, 200, 255]))
            mutation = "ready.name_length_lie"
        case 9:
            ready = Self.ready(socketType: Array("SUB".utf8), valueLie: rng.pick([0, 4, 1000, UInt32.max]))
            mutation = "ready.value_length_lie"
        case 10:
            ready = frame(rng.pick([Array("\u{5}HELLO".utf8), Array("\u{5}ERROR".utf8), rng.bytes(rng.int(40))]), command: true)
            mutation = "ready.wrong_command"
        case 11:
            subs = [frame([1], sizeLie: rng.pick([0, 200, 1 << 20, 1 << 40, UInt64.max]))]
            mutation = "subscribe.size_lie"
        case 12:
            subs = (0..<rng.int(in: 50...400)).map { _ in frame([1] + rng.bytes(rng.int(40))) }
            mutation = "subscribe.many"
        case 13:
            subs = [frame([1] + rng.bytes(rng.pick([300, 5000, 60_000])))]
            mutation = "subscribe.long_topic"
        case 14:
            subs = [frame(rng.bytes(rng.int(in: 1...64))), frame([2, 3, 4]), frame([], command: true)]
            mutation = "subscribe.not_a_subscription"
        default:
            return (rng.bytes(rng.int(in: 1...300)), "random.bytes")
        }
        return (greet + ready + subs.flatMap { $0 }, mutation)
    }
}
