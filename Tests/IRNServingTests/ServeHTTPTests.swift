import Foundation
import XCTest
import IRNAgents
import IRNNumerics
import IRNServing
import IRNSupport

/// The real `irn serve` binary over real HTTP: every endpoint, every kind of bad input,
/// stateful sessions (same answers as the stateless route), TTL expiry and LRU eviction.
final class ServeHTTPTests: XCTestCase {
    private var dir: URL!
    private var server: ServeProcessHandle!

    private func start(_ extra: [String] = [], repeatHead: Bool = true) throws {
        dir = try serveTempDirectory("http-\(name.filter { $0.isLetter })")
        let model = dir.appendingPathComponent("model.safetensors")
        _ = try writeRandomAgent(items: 50, hidden: 8, repeatHead: repeatHead, to: model)
        server = try ServeProcessHandle(["--model", model.path] + extra, log: dir.appendingPathComponent("serve.log"))
    }

    override func tearDown() {
        server?.stop()
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    /// The benchmark's poll(2) load generator against the real server: every request it
    /// counts is one the server counted as a 200 (closed loop: at most one in flight per
    /// client is left unanswered at the end), and a non-200 answer is an error, not a request.
    func testLoadGeneratorCountsWhatTheServerAnswered() throws {
        try start()
        let bodies = (0..<20).map { RawHTTPConnection.post("/v1/recommend", json: "{\"session\": [\($0 % 50), \(($0 * 7) % 50)], \"k\": 5}") }
        let r = HTTPLoad.run(port: server.port, clients: 6, seconds: 1.5, requests: bodies, threads: 2)
        XCTAssertEqual(r.errors, 0)
        XCTAssertGreaterThan(r.requests, 50)
        XCTAssertEqual(r.latencies.count, r.requests)
        XCTAssertEqual(r.latencies, r.latencies.sorted())
        XCTAssertGreaterThan(r.latencies.first!, 0)
        let counted = try XCTUnwrap(server.metric("irn_serve_requests_total{route=\"recommend\",code=\"200\"}"))
        XCTAssertGreaterThanOrEqual(Int(counted), r.requests)
        XCTAssertLessThanOrEqual(Int(counted), r.requests + 6)
        let missing = HTTPLoad.run(port: server.port, clients: 3, seconds: 0.5, requests: [RawHTTPConnection.get("/nowhere")], threads: 2)
        XCTAssertEqual(missing.requests, 0)
        XCTAssertEqual(missing.errors, 3, "each client stops at its first non-200 answer")
    }

    /// With --scoring-threads 2 a large batch of stateless requests is split in two halves on
    /// two engines; every answer must equal the one-thread server's (the same items in the same
    /// order; scores to float rounding: OpenBLAS may pick another kernel for another batch
    /// size, which on some CPUs changes the last bit), and the batches must really have been
    /// large (the window holds 40 concurrent requests together).
    func testSplitBatchesAnswerAsOneEngine() throws {
        try start(["--scoring-threads", "2", "--batch-window-us", "300000"])
        let bodies = (0..<40).map { "{\"session\": [\($0 % 50), \(($0 * 13 + 5) % 50), \(($0 * 7) % 50)], \"k\": 8}" }
        let split = Locked([String](repeating: "", count: bodies.count))
        let port = server.port
        onThreads(bodies.count) { i in
            let r = try? RawHTTPConnection(port: port).send(RawHTTPConnection.post("/v1/recommend", json: bodies[i]))
            split.withLock { $0[i] = r?.body ?? "" }
        }
        let sum = try XCTUnwrap(server.metric("irn_serve_batch_size_sum"))
        let count = try XCTUnwrap(server.metric("irn_serve_batch_size_count"))
        XCTAssertGreaterThanOrEqual(sum / count, 16, "batches too small to be split: the test proves nothing")
        server.stop()
        try? FileManager.default.removeItem(at: dir)
        try start()
        for (i, b) in bodies.enumerated() {
            let one = try server.post("/v1/recommend", b)
            XCTAssertEqual(one.status, 200)
            let a = try XCTUnwrap(Self.itemsAndScores(split.current[i]), "request \(i): \(split.current[i])")
            let b = try XCTUnwrap(Self.itemsAndScores(one.body), "request \(i): \(one.body)")
            XCTAssertEqual(a.items, b.items, "request \(i)")
            XCTAssertEqual(a.scores.count, b.scores.count, "request \(i)")
            for (x, y) in zip(a.scores, b.scores) { XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y)), "request \(i)") }
        }
    }

    private static func itemsAndScores(_ body: String) -> (items: [Int], scores: [Double])? {
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any],
              let items = obj["items"] as? [NSNumber], let scores = obj["scores"] as? [NSNumber] else { return nil }
        return (items.map(\.intValue), scores.map(\.doubleValue))
    }

    func testEveryEndpoint() throws {
        try start()
        let health = try server.call(RawHTTPConnection.get("/healthz"))
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json?["status"] as? String, "ok")

        let r = try server.post("/v1/recommend", #"{"session": [3, 7, 3, 999], "k": 5}"#)
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssertEqual(ints(r.json?["items"]).count, 5)
        XCTAssertEqual((r.json?["scores"] as? [Any])?.count, 5)
        XCTAssertEqual((r.json?["repeat_scores"] as? [Any])?.count, 5)
        XCTAssertEqual(ints(r.json?["unknown_items"]), [999])
        XCTAssertEqual((r.json?["model_version"] as? NSNumber)?.intValue, 0)
        let scores = (r.json?["scores"] as? [NSNumber])?.map(\.doubleValue) ?? []
        XCTAssertEqual(scores, scores.sorted(by: >), "best first")

        let excl = try server.post("/v1/recommend", #"{"session": [3, 7], "k": 48, "exclude_seen": true}"#)
        XCTAssertEqual(excl.status, 200)
        XCTAssertFalse(ints(excl.json?["items"]).contains(3) || ints(excl.json?["items"]).contains(7))
        XCTAssertEqual(ints(excl.json?["items"]).count, 48)

        let e = try server.post("/v1/sessions/s1/events", #"{"item": 3}"#)
        XCTAssertEqual(e.status, 200, e.body)
        XCTAssertEqual((e.json?["session_length"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual(ints(e.json?["items"]).count, 10, "k defaults to 10")

        let metrics = try server.call(RawHTTPConnection.get("/metrics"))
        XCTAssertEqual(metrics.status, 200)
        for name in ["irn_serve_requests_total{route=\"recommend\",code=\"200\"}", "irn_serve_request_seconds_bucket",
                     "irn_serve_batch_size_bucket", "irn_serve_model_version", "irn_serve_sessions_live 1"] {
            XCTAssertTrue(metrics.body.contains(name), "metrics lack \(name)")
        }
        let page = try server.call(RawHTTPConnection.get("/"))
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("<script src=\"/app.js\">"))
        XCTAssertEqual(try server.call(RawHTTPConnection.get("/app.js")).status, 200)
        let info = try server.call(RawHTTPConnection.get("/v1/info"))
        XCTAssertEqual((info.json?["items"] as? NSNumber)?.intValue, 50)
        XCTAssertEqual(info.json?["repeat_head"] as? Bool, true)
        XCTAssertEqual(try server.call(RawHTTPConnection.get("/v1/cluster")).status, 200)
    }

    /// Feeding a session event by event gives what the stateless route gives for the prefix.
    /// A model file that carries its item map serves original ids without --data.
    func testModelFileAloneServesOriginalIds() throws {
        dir = try serveTempDirectory("ids")
        let model = dir.appendingPathComponent("model.safetensors")
        var config = AgentConfig(algorithm: .irnP, items: 50)
        config.hidden = 8
        try AgentCheckpoint(config: config, parameters: NetworkParameters(shape: config.shape, seed: 2), epoch: 0,
                            itemIds: (0..<50).map { 9000 + Int64($0) }).write(to: model)
        server = try ServeProcessHandle(["--model", model.path], log: dir.appendingPathComponent("serve.log"))
        let r = try server.post("/v1/recommend", #"{"session": [9003, 7], "k": 5}"#)
        XCTAssertEqual(r.status, 200, r.body)
        let items = ints(r.json?["items"])
        XCTAssertEqual(items.count, 5)
        XCTAssertTrue(items.allSatisfy { (9000..<9050).contains($0) }, "\(items)")
        XCTAssertEqual(ints(r.json?["unknown_items"]), [7])
    }

    func testStatefulSessionEqualsStatelessPrefix() throws {
        try start()
        let session: [Int64] = [5, 9, 5, 12, 40, 9]
        for t in 1...session.count {
            let ev = try server.post("/v1/sessions/eq/events", "{\"item\": \(session[t - 1]), \"k\": 8}")
            let st = try server.post("/v1/recommend", "{\"session\": \(session.prefix(t).map { Int($0) }), \"k\": 8}")
            XCTAssertEqual(ints(ev.json?["items"]), ints(st.json?["items"]), "prefix \(t)")
            XCTAssertEqual((ev.json?["session_length"] as? NSNumber)?.intValue, t)
        }
    }

    func testBadInputGets4xxWithAOneLineReasonAndNeverStopsTheServer() throws {
        try start(["--max-body", "1024"])
        let cases: [(String, [UInt8], Int)] = [
            ("malformed JSON", RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1, 2"#), 400),
            ("not an object", RawHTTPConnection.post("/v1/recommend", json: "[1, 2]"), 400),
            ("empty body", RawHTTPConnection.post("/v1/recommend", json: ""), 400),
            ("missing field", RawHTTPConnection.post("/v1/recommend", json: #"{"k": 3}"#), 400),
            ("session not an array", RawHTTPConnection.post("/v1/recommend", json: #"{"session": "1,2"}"#), 400),
            ("item not an integer", RawHTTPConnection.post("/v1/recommend", json: #"{"session": ["a"]}"#), 400),
            ("fractional item", RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1.5]}"#), 400),
            ("k a string", RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1], "k": "5"}"#), 400),
            ("exclude_seen a number", RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1], "exclude_seen": 1}"#), 400),
            ("k zero", RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1], "k": 0}"#), 400),
            ("k over the items", RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1], "k": 51}"#), 400),
            ("k negative", RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1], "k": -3}"#), 400),
            ("event without item", RawHTTPConnection.post("/v1/sessions/x/events", json: #"{"k": 3}"#), 400),
            ("event item null", RawHTTPConnection.post("/v1/sessions/x/events", json: #"{"item": null}"#), 400),
            ("session id too long", RawHTTPConnection.post("/v1/sessions/\(String(repeating: "x", count: 200))/events", json: #"{"item": 1}"#), 400),
            ("oversized body", RawHTTPConnection.post("/v1/recommend", json: "{\"session\": [\(Array(repeating: "1", count: 1000).joined(separator: ","))]}"), 413),
            ("unknown route", RawHTTPConnection.get("/v2/nothing"), 404),
            ("wrong method", RawHTTPConnection.get("/v1/recommend"), 404),
        ]
        for (what, raw, status) in cases {
            let r = try server.call(raw)
            XCTAssertEqual(r.status, status, "\(what): \(r.body)")
            let reason = r.json?["error"] as? String
            XCTAssertNotNil(reason, "\(what): no reason in \(r.body)")
            XCTAssertFalse(reason?.contains("\n") ?? true, what)
            XCTAssertFalse(reason?.isEmpty ?? true, what)
        }
        // A client that sends half a request and stalls blocks nobody.
        let stalled = try server.connection()
        let half = Array(RawHTTPConnection.post("/v1/recommend", json: #"{"session": [1, 2, 3]}"#).dropLast(5))
        try stalled.write(half)
        let ok = try server.post("/v1/recommend", #"{"session": [1], "k": 2}"#)
        XCTAssertEqual(ok.status, 200)
        XCTAssertTrue(server.isRunning)
        XCTAssertEqual(try server.call(RawHTTPConnection.get("/healthz")).status, 200)
    }

    func testIdleSessionsExpireAndTheLeastRecentlyUsedIsEvicted() throws {
        try start(["--max-sessions", "3", "--session-ttl", "2"])
        for s in ["a", "b", "c"] { XCTAssertEqual(try server.post("/v1/sessions/\(s)/events", #"{"item": 1}"#).status, 200) }
        XCTAssertEqual(try server.post("/v1/sessions/a/events", #"{"item": 2}"#).status, 200)  // a is recent again
        let d = try server.post("/v1/sessions/d/events", #"{"item": 1}"#)  // evicts b
        XCTAssertEqual((d.json?["session_length"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual(try server.metric("irn_serve_sessions_evicted_total"), 1)
        XCTAssertEqual(try server.metric("irn_serve_sessions_live"), 3)
        // a kept its state (length 3 after this event); b starts over.
        XCTAssertEqual((try server.post("/v1/sessions/a/events", #"{"item": 3}"#).json?["session_length"] as? NSNumber)?.intValue, 3)
        XCTAssertEqual((try server.post("/v1/sessions/b/events", #"{"item": 3}"#).json?["session_length"] as? NSNumber)?.intValue, 1)
        // Idle for over 2 s: all expire (the scorer sweeps once a second even with no traffic).
        try waitFor(30, "idle sessions to expire") { try server.metric("irn_serve_sessions_live") == 0 }
        XCTAssertGreaterThanOrEqual(try server.metric("irn_serve_sessions_expired_total") ?? 0, 3)
        XCTAssertEqual((try server.post("/v1/sessions/a/events", #"{"item": 3}"#).json?["session_length"] as? NSNumber)?.intValue, 1)
    }

    /// Many concurrent clients: every answer is right (same as alone) and batches form.
    func testConcurrentRequestsAreBatchedAndAnsweredCorrectly() throws {
        try start(["--batch-window-us", "2000"], repeatHead: false)
        let server = self.server!
        let bodies = (0..<40).map { i in "{\"session\": [\(i % 50), \((i * 7) % 50)], \"k\": 6}" }
        let alone = try bodies.map { ints(try server.post("/v1/recommend", $0).json?["items"]) }
        let results = ConcurrentResults(count: bodies.count)
        onThreads(bodies.count) { i in
            results.set(i, (try? server.post("/v1/recommend", bodies[i]).json).map { ints($0?["items"]) } ?? [])
        }
        XCTAssertEqual(results.values, alone)
        let sum = try server.metric("irn_serve_batch_size_sum") ?? 0, count = try server.metric("irn_serve_batch_size_count") ?? 0
        XCTAssertLessThan(count, sum, "some batch held more than one request")
    }
}

final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [[Int64]]
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ i: Int, _ v: [Int64]) { lock.lock(); values[i] = v; lock.unlock() }
}
