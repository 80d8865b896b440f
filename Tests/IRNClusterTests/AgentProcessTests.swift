import Foundation
import XCTest
import IRNAgents
import IRNData
import IRNServer

/// The real executables on a tiny prepared data set written by the test: irn-server training
/// IRN-P, two irn-actor processes, `irn stats --json`, and a kill -9 of one actor mid-epoch.
final class AgentProcessTests: XCTestCase {
    private func start(_ exe: URL, _ args: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h
        p.standardError = h
        try p.run()
        return p
    }

    private func irnStats(_ bin: URL, port: Int) -> [String: Any]? {
        let p = Process()
        p.executableURL = bin.appendingPathComponent("irn")
        p.arguments = ["stats", "--server", "tcp://127.0.0.1:\(port)", "--json", "--timeout", "2"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    func testServerAndTwoActorProcessesTrainIRNPThroughAKill9() throws {
        let bin = try builtBinaries(self)
        let dir = try freshTempDirectory("agent-proc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataset = tinyDataset(sessions: 200, items: 24, shards: 6)
        let data = dir.appendingPathComponent("data")
        try dataset.save(to: data)
        let port = 21_000 + Int(getpid() % 400) * 20
        let server = try start(bin.appendingPathComponent("irn-server"), [
            "--data", data.path, "--algo", "irn-p", "--hidden", "16", "--batch", "4", "--target-every", "30",
            "--epochs", "2", "--port", "\(port)", "--eval-every", "10", "--eval-split", "valid", "--train-split", "train",
            "--heartbeat-timeout", "3", "--out", dir.appendingPathComponent("model.safetensors").path, "--log-level", "info",
        ], log: dir.appendingPathComponent("server.log"))
        defer { if server.isRunning { server.terminate() } }
        func actor(_ name: String) throws -> Process {
            try start(bin.appendingPathComponent("irn-actor"), [
                "--server", "tcp://127.0.0.1:\(port)", "--data", data.path, "--id", name, "--heartbeat", "0.2",
                "--selftest-delay", "0.03",
            ], log: dir.appendingPathComponent("\(name).log"))
        }
        let a1 = try actor("alpha"), victim = try actor("victim")
        defer { for p in [a1, victim] where p.isRunning { p.terminate() } }

        var first: [String: Any] = [:]
        try waitUntil(60, "both actors pushing") {
            guard let s = irnStats(bin, port: port), let rows = s["actors"] as? [[String: Any]] else { return false }
            first = s
            return rows.count == 2 && rows.allSatisfy { ($0["pushes"] as? Int ?? 0) >= 2 }
        }
        XCTAssertEqual((first["actors"] as! [[String: Any]]).map { $0["id"] as! String }.sorted(), ["alpha", "victim"])
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        var later: [String: Any] = [:]
        try waitUntil(60, "step rising and evaluation metrics") {
            guard let s = irnStats(bin, port: port) else { return false }
            later = s
            return (s["step"] as? Int ?? 0) > (first["step"] as? Int ?? 0) && !(s["eval"] as? [String: Any] ?? [:]).isEmpty
        }
        XCTAssertNotNil((later["eval"] as? [String: Any])?["valid.purchase.recall@5"])
        XCTAssertEqual(later["epoch"] as? Int ?? -1 < 2, true)

        try waitUntil(180, "the server to finish") { !server.isRunning }
        XCTAssertEqual(server.terminationStatus, 0)
        a1.waitUntilExit()
        XCTAssertEqual(a1.terminationStatus, 0)
        let log = try String(contentsOf: dir.appendingPathComponent("server.log"), encoding: .utf8)
        // The victim's shards moved to alpha, and every session was started once per epoch.
        let timedOut = log.split(separator: "\n").filter { $0.contains("actor timed out") }
        XCTAssertEqual(timedOut.count, 1, "the killed actor timed out")
        XCTAssertTrue(timedOut.first?.contains("shards=[]") == false, "it held shards when killed: \(timedOut)")
        XCTAssertTrue(log.contains("sessions_started=[200, 200]"), "sessions per epoch in: \(log.split(separator: "\n").filter { $0.contains("all epochs") })")
        XCTAssertTrue(log.contains("final model written"))
        let model = try AgentCheckpoint.read(from: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(model.config.algorithm, .irnP)
        XCTAssertEqual(model.config.hidden, 16)
        XCTAssertNotEqual(model.parameters, model.config.initialParameters())
    }

    /// irn-actor started on another prepared data set than the server's exits 1 with the
    /// reason on one stderr line (launch scripts see the failure), and the server lets it go.
    func testActorOnOtherDataExitsNonZero() throws {
        let bin = try builtBinaries(self)
        let dir = try freshTempDirectory("agent-refuse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data"), other = dir.appendingPathComponent("other")
        try tinyDataset(sessions: 40, items: 24, shards: 4).save(to: data)
        try tinyDataset(sessions: 40, items: 30, shards: 4).save(to: other)
        let port = 21_000 + Int(getpid() % 400) * 20 + 8
        let server = try start(bin.appendingPathComponent("irn-server"), [
            "--data", data.path, "--algo", "irn-p", "--hidden", "16", "--batch", "4", "--epochs", "1",
            "--port", "\(port)", "--train-split", "train", "--log-level", "info",
        ], log: dir.appendingPathComponent("server.log"))
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }

        let actor = Process()
        actor.executableURL = bin.appendingPathComponent("irn-actor")
        actor.arguments = ["--server", "tcp://127.0.0.1:\(port)", "--data", other.path, "--id", "stranger", "--log-level", "critical"]
        let errPipe = Pipe()
        actor.standardError = errPipe
        actor.standardOutput = FileHandle.nullDevice
        try actor.run()
        defer { if actor.isRunning { actor.terminate() } }
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        actor.waitUntilExit()
        XCTAssertEqual(actor.terminationStatus, 1, stderr)
        let lines = stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, stderr)
        XCTAssertTrue(stderr.hasPrefix("irn-actor: cannot use the server's settings: "), stderr)
        XCTAssertTrue(stderr.contains("not the same prepared data"), stderr)

        // The server saw it leave (no timeout) and is still waiting for a usable actor.
        try waitUntil(30, "the server to log the departure") {
            ((try? String(contentsOf: dir.appendingPathComponent("server.log"), encoding: .utf8)) ?? "").contains("actor left")
        }
        XCTAssertTrue(server.isRunning)
        server.terminate()
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0)
        let log = try String(contentsOf: dir.appendingPathComponent("server.log"), encoding: .utf8)
        XCTAssertFalse(log.contains("actor timed out"), log)
    }
}
