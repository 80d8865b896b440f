import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest
import IRNActor
@testable import IRNServer
import IRNNumerics
import IRNWire
import ZeroMQ

/// Issue 14: faults the cluster must survive. A checkpoint write that fails on a full disk
/// (a real small tmpfs), a late gradient of a lease the actor no longer holds, and a short
/// schedule of scripts/chaos on a synthetic shop checked by scripts/chaos-check.
final class ChaosTests: XCTestCase {
    private func sh(_ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        guard (try? p.run()) != nil else { return (-1, "cannot run \(args)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Writes zeros into `dir/filler` until the file system is full.
    private func fill(_ dir: URL) throws {
        let url = dir.appendingPathComponent("filler")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        let block = Data(count: 4096)
        while (try? h.write(contentsOf: block)) != nil {}
    }

    func testCheckpointFailsOnAFullDiskTrainingGoesOnAndItCheckpointsAgainWhenSpaceReturns() throws {
        let root = try freshTempDirectory("chaos-disk")
        let dir = root.appendingPathComponent("ckpt")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // A real small file system: 1 MB of tmpfs (a toy checkpoint is a few kB).
        let (rc, why) = sh(["mount", "-t", "tmpfs", "-o", "size=1m", "irn-test-ckpt", dir.path])
        guard rc == 0 else {
            try? FileManager.default.removeItem(at: root)
            throw XCTSkip("cannot mount a tmpfs here (needs root): \(why)")
        }
        defer {
            _ = sh(["umount", dir.path])
            try? FileManager.default.removeItem(at: root)
        }
        let shards: [UInt64] = [40, 40]
        var cfg = toyServerConfig(shards: shards)
        cfg.checkpointDirectory = dir
        cfg.checkpointEvery = 0.3
        cfg.recordFile = root.appendingPathComponent("record.jsonl")
        let store = toyStore(sessions: 80)
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let run = Runner("server") { try server.run() }
        let p = VisitProducer(shardSizes: shards, delay: 0.03)
        let actor = try ActorClient(config: actorConfig(server, id: "steady"), producer: p, logger: quietLogger("actor"))
        let ra = Runner("actor") { try actor.run() }
        try waitUntil(60, "a first checkpoint") { ((try? stats(server))?["checkpoints_written"] as? Int ?? 0) >= 1 }

        try fill(dir)
        try waitUntil(60, "a failed checkpoint write") { ((try? stats(server))?["checkpoint_failures"] as? Int ?? 0) >= 2 }
        let full = try stats(server)
        let appliedWhileFull = full["applied"] as! Int
        XCTAssertFalse((full["checkpoint_last_error"] as? String ?? "").isEmpty)
        XCTAssertGreaterThanOrEqual(full["checkpoint_step"] as? Int ?? -1, 1)
        // The last good checkpoint is still there and verifies.
        let kept = CheckpointStore(directory: dir).list()
        XCTAssertFalse(kept.isEmpty)
        for url in kept { XCTAssertNoThrow(try CheckpointStore.load(url)) }
        try waitUntil(60, "training goes on while the disk is full") { ((try? stats(server))?["applied"] as? Int ?? 0) > appliedWhileFull + 3 }
        // Retried at a bounded pace, not on every turn of the loop (that would serialize the
        // model every 50 ms): a few failures a second at most with --checkpoint-every 0.3.
        let failures = (try stats(server))["checkpoint_failures"] as! Int
        XCTAssertLessThan(failures, 60, "retries are paced")
        XCTAssertTrue(PrometheusText.render(server.statsDictionary()).contains("irn_checkpoint_failures_total"))

        try FileManager.default.removeItem(at: dir.appendingPathComponent("filler"))
        let written = (try stats(server))["checkpoints_written"] as! Int
        try waitUntil(60, "a checkpoint once space returns") { ((try? stats(server))?["checkpoints_written"] as? Int ?? 0) > written }
        XCTAssertEqual(try XCTUnwrap(ra.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(run.wait(60)).get())
        XCTAssertEqual(store.params["visits"]!.values, Array(repeating: 1, count: 80), "every session exactly once")
        let record = try String(contentsOf: cfg.recordFile!, encoding: .utf8)
        XCTAssertTrue(record.contains("\"kind\":\"checkpoint_failed\""))
        XCTAssertTrue(record.contains("\"kind\":\"checkpoint\""))
    }

    /// An actor that went silent past the heartbeat timeout (SIGSTOP, a cut link) and comes
    /// back finds its shards with another actor: its late gradient must be refused and counted,
    /// not applied (that would count the sessions of its window twice).
    func testLateGradientOfALeaseNoLongerHeldIsRefused() throws {
        let shards: [UInt64] = [6]
        let store = toyStore(sessions: 6)
        var cfg = toyServerConfig(shards: shards)
        cfg.recordFile = try freshTempDirectory("chaos-late").appendingPathComponent("record.jsonl")
        defer { try? FileManager.default.removeItem(at: cfg.recordFile!.deletingLastPathComponent()) }
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let run = Runner("server") { try server.run() }
        defer { server.requestStop(); _ = run.wait(30) }
        // A hand-made actor: joins, takes the lease, and sends one gradient under a lease id
        // it does not hold (as a revived actor would, whose lease went to another).
        let ctx = try ZeroMQ.Context()
        let dealer = try ctx.socket(.dealer)
        defer { dealer.close(); ctx.terminate() }
        try dealer.setRoutingId(Array("late#1".utf8))
        try dealer.connect("tcp://127.0.0.1:\(server.port)")
        func send(_ m: WireMessage, version: UInt64 = 0) throws {
            _ = try dealer.send(WireFormat.encode(m, senderRunId: 77, weightVersion: version))
        }
        func receive(_ want: (WireMessage) -> Bool) throws -> WireMessage {
            let end = Date().addingTimeInterval(20)
            while Date() < end {
                if try poll([dealer], timeoutMs: 100)[0], let frames = try dealer.receive(dontWait: true) {
                    let env = try WireFormat.decode(frames)
                    if want(env.message) { return env.message }
                }
            }
            throw TestTimeout(what: "an answer from the server")
        }
        try send(.hello(Hello(actorId: "late", host: "test", threads: 1, knownRunId: 0)))
        guard case .welcome(let w) = try receive({ if case .welcome = $0 { return true }; return false }), let lease = w.lease else {
            return XCTFail("no lease in the welcome")
        }
        let part = TensorPart.rowSparse("visits", shape: [6, 1], rows: [0], values: [1])
        try send(.gradient(GradientPush(sequence: 1, envSteps: 1, leaseId: lease.leaseId + 1000,
                                        progress: [ShardProgress(shard: 0, done: 1, total: 6)], stats: [:], parts: [part], bf16: false)),
                 version: w.weightVersion)
        guard case .ack(let a) = try receive({ if case .ack = $0 { return true }; return false }) else { return XCTFail() }
        XCTAssertEqual(a.status, .rejected)
        XCTAssertEqual(store.version, 0, "not applied")
        XCTAssertEqual(store.params["visits"]!.values, Array(repeating: 0, count: 6))
        let rejected = server.statsDictionary()["rejected"] as? [String: Int] ?? [:]
        XCTAssertEqual(rejected["lease_not_held"], 1)
        let record = try String(contentsOf: cfg.recordFile!, encoding: .utf8)
        XCTAssertTrue(record.contains("\"reason\":\"lease_not_held\""), record)
    }

    /// A server restarted while one of its ports is still held for a moment (a client's
    /// socket, e.g. a TCP self-connect of a stats poll) binds once the port is free again
    /// instead of exiting with "Address already in use".
    func testServerWaitsBrieflyForAPortInUse() throws {
        let probe = toyServerConfig(shards: [2])
        let first = try ParameterServer(config: probe, store: toyStore(sessions: 2), logger: quietLogger("probe"))
        let port = first.port
        first.requestStop()
        try first.run()
        // Hold P+2 with a plain listening socket for 1 s.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port + 2).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(fd, 1), 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { close(fd) }
        var cfg = probe
        cfg.port = port
        let t0 = Date()
        let server = try ParameterServer(config: cfg, store: toyStore(sessions: 2), logger: quietLogger("server"))
        XCTAssertEqual(server.port, port)
        XCTAssertGreaterThan(Date().timeIntervalSince(t0), 0.5, "it waited for the port")
        server.requestStop()
        try server.run()
    }

    /// scripts/chaos on a small synthetic shop: a short seeded schedule of every fault kind the
    /// machine allows, then scripts/chaos-check's verdict on the server's record.
    func testShortChaosScheduleOnSyntheticShopPasses() throws {
        let bin = try builtBinaries(self)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let work = try freshTempDirectory("chaos-run")
        defer { try? FileManager.default.removeItem(at: work) }
        let out = work.appendingPathComponent("out")
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/chaos")
        p.arguments = ["--data", "synth", "--minutes", "1.5", "--seed", "5", "--actors", "2", "--fault-every", "4",
                       "--epochs", "1000", "--no-finish", "--heartbeat-timeout", "3", "--checkpoint-every", "3",
                       "--bin", bin.path, "--out", out.path, "--", "--hidden", "8", "--batch", "4"]
        p.environment = ProcessInfo.processInfo.environment.merging(["IRN_CHAOS_DIR": work.appendingPathComponent("data").path]) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard let data = try? Data(contentsOf: out.appendingPathComponent("verdict.json")) else {
            return XCTFail("no verdict.json; scripts/chaos said:\n\(text)")
        }
        let verdict = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertEqual(verdict["pass"] as? Bool, true, text)
        let counts = verdict["counts"] as? [String: Any] ?? [:]
        XCTAssertGreaterThanOrEqual(counts["faults_total"] as? Int ?? 0, 6, text)
        XCTAssertGreaterThan(counts["applied_records"] as? Int ?? 0, 0, text)
        let invariants = verdict["invariants"] as? [[String: Any]] ?? []
        for name in ["applied_once", "versions_contiguous", "sessions_once", "checkpoint_matches_history"] {
            let i = invariants.first { $0["name"] as? String == name }
            XCTAssertGreaterThan(i?["checked"] as? Int ?? 0, 0, "\(name) checked nothing\n\(text)")
        }
    }
}
