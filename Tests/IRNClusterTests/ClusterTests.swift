import Foundation
import XCTest
import IRNActor
import IRNNumerics
import IRNServer
import IRNWire
import ZeroMQ
import IRNSupport

/// A real server and real actors over loopback TCP, with the toy model of ToyModel.swift.
final class ClusterTests: XCTestCase {
    func testTwoActorsVisitEverySessionOncePerEpochAndStatsShowBoth() throws {
        let shards: [UInt64] = [5, 7, 3, 6, 4, 5]
        let sessions = Int(shards.reduce(0, +))
        let store = toyStore(sessions: sessions)
        var cfg = toyServerConfig(shards: shards, epochs: 2)
        cfg.targetEvery = 7
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        // Both actors join before either computes: alone, one could finish the whole run first.
        let gate = StartGate()
        let p1 = VisitProducer(shardSizes: shards, delay: 0.004, gate: gate), p2 = VisitProducer(shardSizes: shards, delay: 0.004, gate: gate)
        let a1 = try ActorClient(config: actorConfig(server, id: "alpha"), producer: p1, logger: quietLogger("a1"))
        let a2 = try ActorClient(config: actorConfig(server, id: "beta"), producer: p2, logger: quietLogger("a2"))
        let r1 = Runner("a1") { try a1.run() }, r2 = Runner("a2") { try a2.run() }
        try waitUntil(30, "both actors joined") { a1.counts.joins == 1 && a2.counts.joins == 1 }
        gate.open()

        try waitUntil(30, "both actors pushing") { a1.counts.pushes > 2 && a2.counts.pushes > 2 }
        let s = try stats(server)
        let ids = (s["actors"] as! [[String: Any]]).map { $0["id"] as! String }
        XCTAssertEqual(ids, ["alpha", "beta"])
        XCTAssertGreaterThan(s["step"] as! Int, 0)
        XCTAssertEqual(s["shards_total"] as? Int, 6)
        XCTAssertNotNil(s["recent_losses"] as? [Double])

        XCTAssertEqual(try XCTUnwrap(r1.wait(120)).get(), .finished)
        XCTAssertEqual(try XCTUnwrap(r2.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        // Every session visited exactly once per epoch, for 2 epochs, through the weights.
        XCTAssertEqual(store.params["visits"]!.values, Array(repeating: 2, count: sessions))
        XCTAssertEqual(store.applyCount, 2 * sessions)
        XCTAssertGreaterThan(store.params["w"]!.values[0], 0.5)  // SGD pulled w towards 1
        // Both actors worked, and each one's replica followed the server's weights.
        XCTAssertGreaterThan(a1.counts.applied, 0)
        XCTAssertGreaterThan(a2.counts.applied, 0)
        XCTAssertEqual(a1.counts.applied + a2.counts.applied, 2 * sessions)
        XCTAssertGreaterThan(a1.counts.targetVersion, 0)
    }

    func testKilledActorsLeaseMovesToTheOther() throws {
        let shards: [UInt64] = [16, 16, 16]
        let sessions = 48
        let store = toyStore(sessions: sessions)
        let server = try ParameterServer(config: toyServerConfig(shards: shards), store: store, logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        // The victim holds a lease; the survivor joins a little later. The victim is slow
        // (16 sessions of 50 ms a shard) so that it is still mid-lease when it is killed,
        // however late this thread gets to do that.
        let victimP = VisitProducer(shardSizes: shards, delay: 0.05)
        let victim = try ActorClient(config: actorConfig(server, id: "victim"), producer: victimP, logger: quietLogger("v"))
        let rv = Runner("victim") { try victim.run() }
        try waitUntil(30, "victim pushing") { victim.counts.pushes >= 3 }
        let survivorP = VisitProducer(shardSizes: shards, delay: 0.005)
        let survivor = try ActorClient(config: actorConfig(server, id: "survivor"), producer: survivorP, logger: quietLogger("s"))
        let rs = Runner("survivor") { try survivor.run() }
        try waitUntil(30, "survivor pushing") { survivor.counts.pushes >= 1 }
        victim.requestStop(graceful: false)  // like kill -9: no goodbye, heartbeats stop
        XCTAssertEqual(try XCTUnwrap(rv.wait(30)).get(), .abandoned)
        XCTAssertEqual(try XCTUnwrap(rs.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        XCTAssertEqual(store.params["visits"]!.values, Array(repeating: 1, count: sessions), "every session exactly once")
        XCTAssertGreaterThanOrEqual(survivorP.began, 2, "the survivor took over shards")
        XCTAssertGreaterThan(survivorP.seen.first!.0, 0, "a late joiner starts from the current weights")
        XCTAssertEqual(server.statsDictionary()["actors_timed_out"] as? Int, 1)
    }

    func testStaleGradientsAreDroppedAndCounted() throws {
        let shards: [UInt64] = [10, 10]
        let store = toyStore(sessions: 20)
        var cfg = toyServerConfig(shards: shards)
        cfg.maxStaleness = 0
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        var actors: [(ActorClient, Runner<ActorClient.Outcome>)] = []
        for i in 0..<2 {
            var ac = actorConfig(server, id: "a\(i)")
            ac.maxInFlight = 4  // pushes on old weights on purpose
            let a = try ActorClient(config: ac, producer: VisitProducer(shardSizes: shards), logger: quietLogger("a"))
            actors.append((a, Runner("a\(i)") { try a.run() }))
        }
        for (_, r) in actors { XCTAssertEqual(try XCTUnwrap(r.wait(120)).get(), .finished) }
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        let s = server.statsDictionary()
        let dropped = s["dropped_stale"] as! Int, applied = s["applied"] as! Int
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertEqual(dropped + applied, 20)
        XCTAssertEqual(actors.map { $0.0.counts.stale }.reduce(0, +), dropped)
        // Dropped gradients never reached the weights; the sessions still count as visited.
        XCTAssertEqual(Int(store.params["visits"]!.values.reduce(0, +)), applied)
        XCTAssertEqual(s["finished"] as? Bool, true)
    }

    func testSynchronousModeNeverStale() throws {
        let shards: [UInt64] = [6, 6]
        let store = toyStore(sessions: 12)
        var cfg = toyServerConfig(shards: shards)
        cfg.maxStaleness = 0
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        var ac = actorConfig(server, id: "sync")
        ac.syncWeights = true
        let p = VisitProducer(shardSizes: shards)
        let a = try ActorClient(config: ac, producer: p, logger: quietLogger("a"))
        XCTAssertEqual(try XCTUnwrap(Runner("a") { try a.run() }.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        XCTAssertEqual(a.counts.stale, 0)
        XCTAssertEqual(a.counts.applied, 12)
        XCTAssertEqual(p.lastSeenVersion, 11, "each gradient saw the weights of every previous one")
        // Target every 10 environment steps (1 per push): gradient k sees target version k / 10,
        // exactly as a single process would.
        XCTAssertEqual(p.seen.map { $0.0 }, Array(0..<12))
        XCTAssertEqual(p.seen.map { $0.1 }, (0..<12).map { UInt64($0 / 10) })
    }

    func testCurveRefusesUnknownKeyAndCountsIt() throws {
        try XCTSkipUnless(ZMQ.has("curve"), "libzmq without CURVE")
        let serverKeys = try CurveKeyPair.generate(), good = try CurveKeyPair.generate(), bad = try CurveKeyPair.generate()
        var cfg = toyServerConfig(shards: [4])
        cfg.curveSecretKey = serverKeys.secretKey
        cfg.curveAllowedKeys = [good.publicKey]
        let store = toyStore(sessions: 4)
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        var badCfg = actorConfig(server, id: "intruder")
        badCfg.curve = (serverKeys.publicKey, bad.publicKey, bad.secretKey)
        let intruder = try ActorClient(config: badCfg, producer: VisitProducer(shardSizes: [4]), logger: quietLogger("bad"))
        let ri = Runner("intruder") { try intruder.run() }
        try waitUntil(60, "a refusal") { (try? stats(server)["refused_curve"] as? Int ?? 0) ?? 0 >= 1 }
        XCTAssertEqual(intruder.counts.joins, 0)
        var goodCfg = actorConfig(server, id: "member")
        goodCfg.curve = (serverKeys.publicKey, good.publicKey, good.secretKey)
        let member = try ActorClient(config: goodCfg, producer: VisitProducer(shardSizes: [4]), logger: quietLogger("good"))
        XCTAssertEqual(try XCTUnwrap(Runner("member") { try member.run() }.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        intruder.requestStop()
        _ = ri.wait(30)
        XCTAssertEqual(intruder.counts.joins, 0)
        XCTAssertEqual(store.params["visits"]!.values, [1, 1, 1, 1])
        XCTAssertEqual(server.statsDictionary()["refused_keys"] as? Int, 1)
    }

    func testServerRestartResumesFromCheckpointAndSkipsCorruptOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("irn-ckpt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Long enough (90 sessions of 10 ms) that the stop below comes well before the end,
        // even when this thread is slow to see the progress on a loaded machine.
        let shards: [UInt64] = [30, 30, 30]
        var cfg = toyServerConfig(shards: shards)
        cfg.checkpointDirectory = dir
        cfg.checkpointEvery = 1e9
        let store1 = toyStore(sessions: 90)
        let server1 = try ParameterServer(config: cfg, store: store1, logger: quietLogger("server1"))
        cfg.port = server1.port
        let run1 = Runner("server1") { try server1.run() }
        let p = VisitProducer(shardSizes: shards, delay: 0.01)
        var ac = actorConfig(server1, id: "steady")
        ac.serverSilenceTimeout = 5  // (the shutdown bye normally tells it sooner)
        let actor = try ActorClient(config: ac, producer: p, logger: quietLogger("actor"))
        let ra = Runner("actor") { try actor.run() }
        try waitUntil(30, "some progress") { actor.counts.applied >= 8 }
        server1.requestStop()  // what SIGTERM does
        XCTAssertNoThrow(try XCTUnwrap(run1.wait(60)).get())
        let saved = CheckpointStore(directory: dir).list()
        XCTAssertEqual(saved.count, 1)
        let savedStep = store1.version
        // A newer but torn checkpoint must be skipped with a message.
        let good = try Data(contentsOf: saved[0])
        try good.prefix(good.count / 2).write(to: dir.appendingPathComponent("checkpoint-999999999999.safetensors"))
        var flipped = good
        flipped[flipped.count - 1] ^= 0xFF
        try flipped.write(to: dir.appendingPathComponent("checkpoint-999999999998.safetensors"))

        let store2 = toyStore(sessions: 90)
        let server2 = try ParameterServer(config: cfg, store: store2, logger: quietLogger("server2"))
        XCTAssertEqual(server2.resumedFrom?.lastPathComponent, saved[0].lastPathComponent)
        XCTAssertEqual(store2.version, savedStep)
        XCTAssertEqual(store2.params["visits"]!.values, store1.params["visits"]!.values)
        let run2 = Runner("server2") { try server2.run() }
        XCTAssertEqual(try XCTUnwrap(ra.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(run2.wait(60)).get())
        XCTAssertEqual(actor.counts.joins, 2, "the actor rejoined the restarted server by itself")
        XCTAssertEqual(store2.params["visits"]!.values, Array(repeating: 1, count: 90), "nothing lost, nothing twice")
        // The unreadable ones were moved aside (<name>.corrupt): they no longer shadow newer
        // good checkpoints nor take a --keep slot.
        XCTAssertFalse(CheckpointStore(directory: dir).list().contains { $0.lastPathComponent.hasPrefix("checkpoint-99999999999") })
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoint-999999999999.safetensors.corrupt").path))
        do {
            _ = try CheckpointStore.load(dir.appendingPathComponent("checkpoint-999999999998.safetensors.corrupt"))
            XCTFail("a flipped byte was not detected")
        } catch {
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
    }

    func testFuzzedPortsKeepServingAndCounting() throws {
        let shards: [UInt64] = [6, 6]
        let store = toyStore(sessions: 12)
        var cfg = toyServerConfig(shards: shards)
        cfg.maxMessageBytes = 64 << 10
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        let ctx = try Context()
        let base = "tcp://127.0.0.1:"
        let dealer = try ctx.socket(.dealer)
        try dealer.setSendTimeout(ms: 10_000)
        try dealer.connect(base + "\(server.port)")
        var rng = RandomSource(seed: 99)
        var sent = 0
        // Garbage and near-valid messages on the actors' port (NaN gradient from a joined "actor").
        try dealer.send(WireFormat.encode(.hello(Hello(actorId: "fuzzer", host: "x", threads: 1)), senderRunId: 1))
        for i in 0..<2000 {
            var frames: [[UInt8]]
            switch i % 4 {
            case 0: frames = [(0..<(rng.nextInt(below: 64))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }]
            case 1:
                frames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 1, parts: [.dense("w", shape: [2], values: [.nan, 1])])), senderRunId: 1)
            case 2:
                frames = WireFormat.encode(.heartbeat(leaseId: 0, progress: []), senderRunId: 1)
                frames[0][4] = 9  // wrong version
            default:
                frames = WireFormat.encode(.gradient(GradientPush(sequence: 2, envSteps: 1, parts: [.dense("w", shape: [2], values: [1, 1])])), senderRunId: 1)
                frames = Array(frames.prefix(2))  // truncated
            }
            if try dealer.send(frames) { sent += 1 }
        }
        // Oversized (over maxMessageBytes, under the transport's hard limit).
        for _ in 0..<5 {
            try dealer.send(WireFormat.encode(.gradient(GradientPush(sequence: 3, envSteps: 1, parts: [.dense("w", shape: [30_000], values: Array(repeating: 0, count: 30_000))])), senderRunId: 1))
        }
        // The stats and HTTP ports get garbage too (REQ/REP: one bad request, then the reply; HTTP:
        // a route that does not exist).
        let req = try ctx.socket(.req)
        try req.connect(base + "\(server.port + 2)")
        try req.send([[1, 2, 3]])
        XCTAssertTrue(try poll([req], timeoutMs: 30_000)[0])
        _ = try req.receive()
        let http = try ctx.socket(.stream)
        try http.connect(base + "\(server.port + 3)")
        XCTAssertTrue(try poll([http], timeoutMs: 30_000)[0])
        let peer = try XCTUnwrap(try http.receive())[0]  // connect notice
        try http.send([peer, Array("POST /x HTTP/1.0\r\n\r\n".utf8)])
        XCTAssertTrue(try poll([http], timeoutMs: 30_000)[0])
        let answer = String(decoding: try XCTUnwrap(try http.receive())[1], as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.") && answer.contains(" 404 "), "HTTP answers an unknown route with 404: \(answer.prefix(80))")

        try waitUntil(60, "fuzz counted") { ((try? stats(server))?["rejected_total"] as? Int ?? 0) >= 2006 }
        // A real actor still trains to the end on finite weights.
        let a = try ActorClient(config: actorConfig(server, id: "honest"), producer: VisitProducer(shardSizes: shards), logger: quietLogger("a"))
        XCTAssertEqual(try XCTUnwrap(Runner("a") { try a.run() }.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        let s = server.statsDictionary()
        let rejected = s["rejected"] as! [String: Int]
        XCTAssertEqual(sent, 2000)
        XCTAssertEqual(rejected["non_finite"], 500)
        XCTAssertEqual(rejected["version"], 500)
        XCTAssertEqual((rejected["framing"] ?? 0) + (rejected["magic"] ?? 0), 1000 + 1)  // + the stats-port garbage
        XCTAssertEqual(rejected["oversized"], 5)
        XCTAssertTrue(store.params.values.allSatisfy { $0.values.allSatisfy(\.isFinite) })
        XCTAssertEqual(store.params["visits"]!.values, Array(repeating: 1, count: 12))
        dealer.close(); req.close(); http.close()
    }
}
