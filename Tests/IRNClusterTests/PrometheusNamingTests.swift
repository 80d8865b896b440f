import Foundation
import XCTest
import IRNActor
@testable import IRNServer

/// `/metrics` read by a real Prometheus parser (`prometheus_client`, in a venv this test
/// makes once per machine) and held to the naming conventions: counters end in `_total`, one
/// unit per family, every known rejection reason from the first scrape, a build-info metric.
final class PrometheusNamingTests: XCTestCase {
    /// A venv with prometheus_client under the temporary directory, shared by later runs;
    /// skips the test with the reason where it cannot be made (no venv module, no network).
    func parserPython() throws -> String {
        let venv = FileManager.default.temporaryDirectory.appendingPathComponent("irn-prometheus-venv")
        let python = venv.appendingPathComponent("bin/python").path
        func sh(_ args: [String]) -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["timeout", "300"] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            guard (try? p.run()) != nil else { return (127, "cannot run \(args[0])") }
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        if sh([python, "-c", "import prometheus_client"]).0 == 0 { return python }
        let (rc1, t1) = sh(["python3", "-m", "venv", venv.path])
        guard rc1 == 0 else { throw XCTSkip("no Prometheus parser: python3 -m venv failed: \(t1.suffix(300))") }
        let (rc2, t2) = sh([python, "-m", "pip", "install", "-q", "prometheus_client"])
        guard rc2 == 0 else { throw XCTSkip("no Prometheus parser: pip install prometheus_client failed: \(t2.suffix(300))") }
        return python
    }

    /// Families as the parser sees them: name -> (type, [(sample name, labels, value)]).
    func parse(_ text: String, python: String) throws -> [String: (type: String, samples: [(name: String, labels: [String: String], value: Double)])] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("irn-metrics-\(getpid()).txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = {}
        for f in text_string_to_metric_families(open(sys.argv[1]).read()):
            out[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
        print(json.dumps(out))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, file.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "the parser refused /metrics: \(errText)\n\(text)")
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return obj.mapValues { f in
            (f["type"] as? String ?? "", (f["samples"] as? [[Any]] ?? []).map { s in
                (s[0] as? String ?? "", s[1] as? [String: String] ?? [:], (s[2] as? NSNumber)?.doubleValue ?? .nan)
            })
        }
    }

    func testMetricsFollowPrometheusNamingConventions() throws {
        let python = try parserPython()
        let shards: [UInt64] = [500, 500]
        let server = try ParameterServer(config: toyServerConfig(shards: shards), store: toyStore(sessions: 1000), logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        let a = try ActorClient(config: actorConfig(server, id: "one"), producer: VisitProducer(shardSizes: shards, delay: 0.01), logger: quietLogger("a"))
        let ra = Runner("a") { try a.run() }
        try waitUntil(60, "pushes") { a.counts.applied > 1 }
        server.setEvalMetrics(["step": 40, "seconds": 0.25, "valid.purchase.recall@5": 0.5, "valid.purchase.mrr@5": 0.25,
                               "valid.purchase.events": 12, "valid.click.recall@10": 0.125])
        let response = try httpGet(port: server.port + 3, path: "/metrics")
        let body = String(response[try XCTUnwrap(response.range(of: "\r\n\r\n")).upperBound...])
        let runId = try stats(server)["run_id"] as? String
        a.requestStop()
        XCTAssertEqual(try XCTUnwrap(ra.wait(30)).get(), .stopped)
        server.requestStop()
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())

        let families = try parse(body, python: python)
        for (name, f) in families {
            XCTAssertTrue(name.hasPrefix("irn_"), name)
            if f.type == "counter" {
                for s in f.samples { XCTAssertTrue(s.name.hasSuffix("_total"), "counter sample \(s.name) lacks _total") }
            }
            XCTAssertFalse(f.type == "untyped" || f.type == "unknown", "\(name) has no TYPE line")
        }
        // Counters that were gauges without _total.
        XCTAssertEqual(families["irn_step"]?.type, "counter")
        XCTAssertEqual(families["irn_target_refreshes"]?.type, "counter")
        XCTAssertNil(families["irn_target_version"])
        // irn_eval is split by unit.
        XCTAssertNil(families["irn_eval"])
        XCTAssertEqual(families["irn_eval_recall"]?.samples.map { $0.labels }.sorted { $0["kind"]! < $1["kind"]! },
                       [["split": "valid", "kind": "click", "k": "10"], ["split": "valid", "kind": "purchase", "k": "5"]])
        XCTAssertEqual(families["irn_eval_mrr"]?.samples.first?.value, 0.25)
        XCTAssertEqual(families["irn_eval_events"]?.samples.first?.labels, ["split": "valid", "kind": "purchase"])
        XCTAssertEqual(families["irn_eval_duration_seconds"]?.samples.first?.value, 0.25)
        XCTAssertEqual(families["irn_eval_step"]?.samples.first?.value, 40)
        // What was only in the JSON.
        XCTAssertGreaterThan(try XCTUnwrap(families["irn_applied"]?.samples.first?.value), 1)
        XCTAssertNotNil(families["irn_broadcast_bytes"])
        XCTAssertEqual(families["irn_staleness"]?.samples.compactMap { $0.labels["quantile"] }, ["0.5", "0.95", "1"])
        XCTAssertNotNil(families["irn_actor_applied"])
        // Build info with the run id the JSON shows.
        let info = try XCTUnwrap(families["irn_build_info"]?.samples.first)
        XCTAssertEqual(info.value, 1)
        XCTAssertEqual(info.labels["run_id"], runId)
        // Every rejection reason before the first rejection.
        let reasons = Set(try XCTUnwrap(families["irn_rejected"]).samples.compactMap { $0.labels["reason"] })
        XCTAssertTrue(reasons.isSuperset(of: ["framing", "checksum", "non_finite", "unknown_actor", "version_ahead"]), "\(reasons)")
    }
}


extension PrometheusNamingTests {
    /// The loss terms and advantages of `recent_means` (the toy actors above send none).
    func testLossTermsAreExportedOneFamilyPerUnit() throws {
        let text = PrometheusText.render(["recent_means": [
            "loss": 1.5, "policy_loss": 1.0, "value_loss": 0.25, "reconstruction_loss": 0.25,
            "mean_advantage": 0.125, "mean_abs_advantage": 0.5, "purchase_share": 0.0625, "active_steps": 12.0,
        ] as [String: Any]])
        for line in [
            "irn_loss{term=\"total\"} 1.5", "irn_loss{term=\"policy\"} 1.0", "irn_loss{term=\"value\"} 0.25",
            "irn_loss{term=\"reconstruction\"} 0.25", "irn_advantage_mean 0.125", "irn_advantage_abs_mean 0.5",
            "irn_purchase_step_ratio 0.0625", "irn_active_steps 12.0",
        ] {
            XCTAssertTrue(text.contains("\n\(line)\n"), "lacks \(line):\n\(text)")
        }
    }
}
