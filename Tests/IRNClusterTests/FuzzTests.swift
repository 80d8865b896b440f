import Foundation
import XCTest
import IRNAgents
import IRNNumerics
import IRNServer

/// Issue 14: the real `irn-server` (an IRN-P model on a tiny data set) and `irn serve` (a
/// random agent) fuzzed by the real `irn fuzz`, 2,000 messages per port: nothing crashes or
/// hangs, every refusal is counted by the reason the decoder predicts, weights stay finite,
/// every port still answers.
final class FuzzTests: XCTestCase {
    func testFuzzEveryPortOfServerAndServe() throws {
        let bin = try builtBinaries(self)
        let dir = try freshTempDirectory("fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        try tinyDataset(sessions: 60, items: 24, shards: 4).save(to: data)

        let port = 21_000 + Int(getpid() % 400) * 20 + Int.random(in: 0..<4) * 4
        let server = Process()
        server.executableURL = bin.appendingPathComponent("irn-server")
        // Epochs far beyond what 2,000 messages could finish: the server must stay up.
        server.arguments = ["--data", data.path, "--algo", "irn-p", "--hidden", "8", "--port", "\(port)",
                            "--epochs", "100000", "--no-eval", "--log-level", "warning"]
        let serverLog = dir.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: serverLog.path, contents: nil)
        server.standardOutput = try FileHandle(forWritingTo: serverLog)
        server.standardError = try FileHandle(forWritingTo: serverLog)
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        try waitUntil(60, "irn-server answering stats") { (try? StatsClient.fetch(server: "tcp://127.0.0.1:\(port)", timeoutSeconds: 0.5)) != nil }

        // irn serve on a random IRN-P agent over the same items.
        var config = AgentConfig(algorithm: .irnP, items: 24)
        config.hidden = 8
        let model = dir.appendingPathComponent("model.safetensors")
        try AgentCheckpoint(config: config, parameters: NetworkParameters(shape: config.shape, seed: 3), epoch: 0).write(to: model)
        let serve = Process()
        serve.executableURL = bin.appendingPathComponent("irn")
        serve.arguments = ["serve", "--model", model.path, "--data", data.path, "--port", "0"]
        let serveLog = dir.appendingPathComponent("serve.log")
        _ = FileManager.default.createFile(atPath: serveLog.path, contents: nil)
        serve.standardOutput = try FileHandle(forWritingTo: serveLog)
        serve.standardError = try FileHandle(forWritingTo: serveLog)
        try serve.run()
        defer { if serve.isRunning { serve.terminate() } }
        var servePort: Int?
        try waitUntil(60, "irn serve listening") {
            let text = (try? String(contentsOf: serveLog, encoding: .utf8)) ?? ""
            if let r = text.range(of: "listening on http://127.0.0.1:") { servePort = Int(text[r.upperBound...].prefix { $0.isNumber }) }
            return servePort != nil || !serve.isRunning
        }
        let sp = try XCTUnwrap(servePort, "irn serve did not start: \((try? String(contentsOf: serveLog, encoding: .utf8)) ?? "")")

        let reportFile = dir.appendingPathComponent("fuzz.json")
        let run = try runTool(self, "irn", ["fuzz", "--target", "tcp://127.0.0.1:\(port)", "--http", "http://127.0.0.1:\(port + 3)",
                                            "--http", "http://127.0.0.1:\(sp)", "--messages", "2000", "--seed", "7",
                                            "--out", reportFile.path], timeout: 150)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: reportFile)) as? [String: Any], run.stderr)
        XCTAssertEqual(run.status, 0, "failures: \(report["failures"] ?? "?")")
        XCTAssertEqual(report["passed"] as? Bool, true)
        XCTAssertEqual((report["failures"] as? [String])?.count, 0, "\(report["failures"] ?? "")")

        // Zero crashes: both processes still run and answer.
        XCTAssertTrue(server.isRunning, (try? String(contentsOf: serverLog, encoding: .utf8)) ?? "")
        XCTAssertTrue(serve.isRunning, (try? String(contentsOf: serveLog, encoding: .utf8)) ?? "")
        let checks = try XCTUnwrap(report["checks"] as? [String: Any])
        XCTAssertEqual(checks["weights_finite"] as? Bool, true)
        XCTAssertEqual(checks["ports_answer"] as? [String: String], ["P": "ok", "P+1": "ok", "P+2": "ok"])
        // 25 consecutive gradients just under the wire's limit of 2^60 are applied, 25 of
        // Float.greatestFiniteMagnitude refused: the weights stay finite (they became NaN before).
        let burst = try XCTUnwrap(checks["huge_gradient_burst"] as? [String: Any])
        XCTAssertEqual(burst["weights"] as? String, "finite")
        XCTAssertEqual(burst["answers"] as? [String: Int], ["ack_applied": 25])

        let ports = try XCTUnwrap(report["ports"] as? [[String: Any]])
        XCTAssertEqual(ports.count, 5)
        for p in ports {
            XCTAssertEqual(p["messages"] as? Int, 2000, "\(p["port"] ?? "")")
            XCTAssertEqual((p["failures"] as? [String])?.count, 0, "\(p["port"] ?? ""): \(p["failures"] ?? "")")
        }
        // Every refusal counted, by the reason the decoder gives (checked message by message on
        // P, by totals on P+2), and the server's reasons cover the wire and its own checks.
        let actorPort = try XCTUnwrap(ports.first { ($0["protocol"] as? String) == "zmq-router" })
        XCTAssertEqual(actorPort["count_mismatches"] as? Int, 0)
        XCTAssertEqual(actorPort["timeouts"] as? Int, 0)
        let reasons = try XCTUnwrap(actorPort["rejected_by_reason_server"] as? [String: Int])
        for r in ["framing", "magic", "version", "kind", "checksum", "malformed", "non_finite", "tensor", "unknown_actor", "unexpected_kind", "part_unknown", "range", "bad_counts"] {
            XCTAssertGreaterThan(reasons[r] ?? 0, 0, "no '\(r)' refusal among \(reasons)")
        }
        let statsPort = try XCTUnwrap(ports.first { ($0["protocol"] as? String) == "zmq-rep" })
        XCTAssertEqual(statsPort["rejected_by_reason_server"] as? [String: Int], statsPort["rejected_expected"] as? [String: Int])
        XCTAssertEqual(statsPort["timeouts"] as? Int, 0)
        // The server's total equals the sum over both ports and the 25 refused huge gradients
        // (P+1 and HTTP refuse nothing it counts).
        let total = (actorPort["rejected_total_server"] as? Int ?? -1) + (statsPort["rejected_total_server"] as? Int ?? -1) + 25
        XCTAssertEqual(checks["server_rejected_total"] as? Int, total)

        // irn serve counts what it answers by status; what it did not count was answered by the
        // HTTP layer before routing (malformed requests).
        let serveReport = try XCTUnwrap(ports.first { ($0["protocol"] as? String) == "http (serve)" })
        XCTAssertNotNil(serveReport["app_counted_by_status"])

        // And it still shuts down cleanly.
        server.terminate()
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0, (try? String(contentsOf: serverLog, encoding: .utf8)) ?? "")
    }
}
