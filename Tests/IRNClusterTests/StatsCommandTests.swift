import Foundation
import XCTest
import IRNActor
import IRNServer

/// `irn stats` as a person runs it: the real executable against a live server.
final class StatsCommandTests: XCTestCase {
    func runIRN(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = try builtBinaries(self).appendingPathComponent("irn")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testStatsJSONAndTableShowActorsAndRisingStep() throws {
        // 10 000 sessions of 10 ms: the actors are still busy when the test stops them, however
        // slowly the `irn` processes below start on a loaded machine.
        let shards: [UInt64] = [5000, 5000]
        let store = toyStore(sessions: 10_000)
        let server = try ParameterServer(config: toyServerConfig(shards: shards), store: store, logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        let a = try ActorClient(config: actorConfig(server, id: "one"), producer: VisitProducer(shardSizes: shards, delay: 0.01), logger: quietLogger("a"))
        let b = try ActorClient(config: actorConfig(server, id: "two"), producer: VisitProducer(shardSizes: shards, delay: 0.01), logger: quietLogger("b"))
        let ra = Runner("a") { try a.run() }, rb = Runner("b") { try b.run() }
        try waitUntil(30, "pushes") { a.counts.pushes > 1 && b.counts.pushes > 1 }
        // Evaluation metrics as BackgroundEvaluator names them (hand-made values).
        let evalMetrics: [String: Double] = [
            "step": 40, "seconds": 0.25,
            "valid.purchase.recall@5": 0.5, "valid.purchase.recall@10": 0.75, "valid.purchase.mrr@5": 0.25,
            "valid.purchase.mrr@10": 0.3125, "valid.purchase.events": 12,
            "valid.click.recall@5": 0.125, "valid.click.mrr@5": 0.0625, "valid.click.events": 40,
            "valid.first.recall@5": 1, "valid.first.mrr@5": 1, "valid.first.events": 3,
        ]
        server.setEvalMetrics(evalMetrics)
        let endpoint = "tcp://127.0.0.1:\(server.port)"
        let (rc1, j1) = try runIRN(["stats", "--server", endpoint, "--json"])
        XCTAssertEqual(rc1, 0)
        let s1 = try JSONSerialization.jsonObject(with: Data(j1.utf8)) as! [String: Any]
        XCTAssertEqual((s1["actors"] as! [[String: Any]]).map { $0["id"] as! String }, ["one", "two"])
        XCTAssertEqual(s1["eval"] as? [String: Double], evalMetrics)
        // Every key is documented in the one list, and the list has no key the server lacks.
        XCTAssertEqual(Set(s1.keys), Set(StatsSchema.keys.map(\.key)))
        for row in s1["actors"] as! [[String: Any]] { XCTAssertEqual(Set(row.keys), Set(StatsSchema.actorKeys)) }
        // Ask again until the step has risen (a fixed pause could see no update on a loaded machine).
        var s2: [String: Any] = [:]
        try waitUntil(30, "a higher step in `irn stats --json`") {
            guard let r = try? runIRN(["stats", "--server", endpoint, "--json"]), r.0 == 0,
                  let s = try? JSONSerialization.jsonObject(with: Data(r.1.utf8)) as? [String: Any] else { return false }
            s2 = s
            return (s["step"] as? Int ?? 0) > s1["step"] as! Int
        }
        XCTAssertGreaterThan(s2["step"] as! Int, s1["step"] as! Int)
        XCTAssertGreaterThan(s2["updates_per_s"] as! Double, 0)
        let (rc3, table) = try runIRN(["stats", "--server", endpoint])
        XCTAssertEqual(rc3, 0)
        XCTAssertTrue(table.contains("2 actor(s)"), table)
        XCTAssertTrue(table.contains("one") && table.contains("two"), table)
        // One row per split.kind (purchase, click, first), recall then MRR by cut-off, events
        // last; a metric a row lacks shows as "-".
        XCTAssertTrue(table.contains("""

            evaluation (step 40, 0.25 s)
            split.kind      recall@5  recall@10   mrr@5  mrr@10  events
            valid.purchase    0.5000     0.7500  0.2500  0.3125      12
            valid.click       0.1250          -  0.0625       -      40
            valid.first       1.0000          -  1.0000       -       3

            """), table)
        let (rcBad, _) = try runIRN(["stats", "--server", "tcp://127.0.0.1:1", "--timeout", "0.3"])
        XCTAssertNotEqual(rcBad, 0)
        // Prometheus text over HTTP on P+3.
        let metrics = try httpGet(port: server.port + 3, path: "/metrics")
        XCTAssertTrue(metrics.hasPrefix("HTTP/1.1 200"), metrics)
        XCTAssertTrue(metrics.contains("\nirn_step_total "), metrics)
        XCTAssertTrue(metrics.contains("\nirn_loop_cpu_seconds_total "), metrics)
        XCTAssertTrue(metrics.contains("irn_actor_pushes_total{actor=\"one\"}"), metrics)
        XCTAssertTrue(metrics.contains("irn_eval_recall{split=\"valid\",kind=\"purchase\",k=\"5\"} 0.5"), metrics)
        XCTAssertTrue(try httpGet(port: server.port + 3, path: "/nope").hasPrefix("HTTP/1.1 404"))
        a.requestStop(); b.requestStop()
        XCTAssertEqual(try XCTUnwrap(ra.wait(30)).get(), .stopped)
        XCTAssertEqual(try XCTUnwrap(rb.wait(30)).get(), .stopped)
        try waitUntil(30, "leases returned") { ((try? stats(server))?["actors"] as? [Any])?.isEmpty == true }
        server.requestStop()
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
    }
}

extension StatsCommandTests {
    /// `irn stats --help` and cluster/README.md show the keys from `StatsSchema`.
    func testStatsKeysAreDocumentedFromTheSchema() throws {
        let (rc, help) = try runIRN(["stats", "--help"])
        XCTAssertEqual(rc, 0)
        for (key, _) in StatsSchema.keys { XCTAssertTrue(help.contains("\(key):"), "--help lacks \(key)") }
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../cluster/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        XCTAssertTrue(text.contains(StatsSchema.markdownTable), "cluster/README.md's stats table differs from `irn stats --keys`")
    }
}

/// A minimal HTTP/1.0 GET over a plain TCP socket.
func httpGet(port: Int, path: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw TestTimeout(what: "connect to \(port): errno \(errno)") }
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let req = "GET \(path) HTTP/1.0\r\n\r\n"
    _ = req.withCString { write(fd, $0, strlen($0)) }
    var all: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        all += buf[0..<n]
        let text = String(decoding: all, as: UTF8.self)
        if let r = text.range(of: "\r\n\r\n"), let cl = text.range(of: "Content-Length: ") {
            let len = Int(text[cl.upperBound...].prefix { $0.isNumber }) ?? 0
            if all.count - text[..<r.upperBound].utf8.count >= len { break }
        }
    }
    return String(decoding: all, as: UTF8.self)
}
