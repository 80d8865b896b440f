import Foundation
import XCTest
import IRNAgents
import IRNData
import IRNServing
import IRNSupport
import IRNWire
import ZeroMQ

/// `irn serve --follow` against a real training cluster (irn-server + irn-actor processes):
/// the served version moves while training runs; when the run ends, the served version is the
/// final model's step and the served rankings are the final model file's.
final class ServeFollowTests: XCTestCase {
    private func start(_ exe: String, _ args: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = try serveBinDir().appendingPathComponent(exe)
        p.arguments = args
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h
        p.standardError = h
        try p.run()
        return p
    }

    /// A small seeded data set: sessions of 2-7 events over `items` items.
    private func tinyDataset(sessions: Int, items: Int) -> PreparedDataset {
        var rng = RandomSource(seed: 5)
        func make(_ n: Int, idBase: Int64) -> SessionSet {
            var s = SessionSet()
            for i in 0..<n {
                let len = 2 + rng.nextInt(below: 6)
                let its = (0..<len).map { _ in Int32(rng.nextInt(below: items)) }
                let ty = (0..<len).map { _ in rng.nextDouble() < 0.2 ? EventType.purchase.rawValue : EventType.click.rawValue }
                s.append(id: idBase + Int64(i), items: its, types: ty, times: (0..<len).map { Int64(1_400_000_000_000 + i * 10_000 + $0) })
            }
            return s
        }
        let train = make(sessions, idBase: 1000)
        return PreparedDataset(itemIds: (0..<items).map { Int64($0 + 500) }, train: train, test: make(10, idBase: 9000),
                               trainTr: train, valid: make(10, idBase: 8000), shardCount: 4)
    }

    /// The delay from the server applying a step (seen on its stats socket, P+2) to answers
    /// carrying that version (or a newer one): within one broadcast interval (0.1 s) + 100 ms.
    /// Each sample: poll the server's step until it is newer than the served version, then
    /// poll /v1/recommend until the answers carry it. The first sight of the step is at most
    /// one stats round trip after it was applied, so the samples can undershoot by that much.
    private func checkSwapDelay(port: Int, server: Process, version: () throws -> Int) throws {
        let ctx = try Context()
        defer { ctx.terminate() }
        func serverStep() -> Int? {
            guard let req = try? ctx.socket(.req) else { return nil }
            defer { req.close() }
            try? req.setLinger(0)
            try? req.setReceiveTimeout(ms: 1000)
            guard (try? req.connect("tcp://127.0.0.1:\(port + 2)")) != nil,
                  (try? req.send(WireFormat.encode(.statsRequest, senderRunId: 0))) != nil,
                  let frames = try? req.receive(), let env = try? WireFormat.decode(frames),
                  case .statsReply(let json) = env.message,
                  let obj = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return nil }
            return (obj["step"] as? NSNumber)?.intValue
        }
        var delays: [Double] = []
        let end = Date().addingTimeInterval(20)
        while delays.count < 15 && Date() < end && server.isRunning {
            let served = try version()
            guard let step = serverStep(), step > served else { continue }
            let seenAt = monotonicSeconds()
            while monotonicSeconds() - seenAt < 5 {
                if try version() >= step { delays.append(monotonicSeconds() - seenAt); break }
            }
        }
        XCTAssertGreaterThanOrEqual(delays.count, 5, "enough samples while training runs")
        guard !delays.isEmpty else { return }
        let sorted = delays.sorted(), median = sorted[sorted.count / 2]
        let report = "delays (ms): \(sorted.map { Int($0 * 1000) })"
        print("ServeFollowTests: \(report)")
        XCTAssertLessThanOrEqual(median, 0.1 + 0.1, report)
        XCTAssertLessThanOrEqual(sorted.filter { $0 > 0.2 }.count * 5, sorted.count, "at most one in five over 200 ms: \(report)")
    }

    func testFollowServesTheClustersNewWeightsAsTheyArrive() throws {
        let dir = try serveTempDirectory("follow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        try tinyDataset(sessions: 300, items: 30).save(to: data)
        let port = 23_000 + Int(getpid() % 400) * 10
        let server = try start("irn-server", [
            "--data", data.path, "--algo", "irn-p", "--hidden", "16", "--batch", "4", "--epochs", "25", "--head", "repeat",
            "--port", "\(port)", "--train-split", "train", "--heartbeat-timeout", "10", "--broadcast-interval", "0.1",
            "--out", dir.appendingPathComponent("model.safetensors").path,
        ], log: dir.appendingPathComponent("server.log"))
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        let actor = try start("irn-actor", ["--server", "tcp://127.0.0.1:\(port)", "--data", data.path, "--id", "a1"],
                              log: dir.appendingPathComponent("actor.log"))
        defer { if actor.isRunning { actor.terminate(); actor.waitUntilExit() } }

        let serve = try ServeProcessHandle(["--follow", "tcp://127.0.0.1:\(port)", "--data", data.path],
                                           log: dir.appendingPathComponent("serve.log"))
        defer { serve.stop() }
        func version() throws -> Int {
            (try serve.post("/v1/recommend", #"{"session": [500, 501], "k": 3}"#).json?["model_version"] as? NSNumber)?.intValue ?? -1
        }
        let v0 = try version()
        var seen: Set<Int> = [v0]
        try waitFor(120, "the served version to move twice (log: \(dir.path))") {
            seen.insert(try version())
            return seen.count >= 3
        }
        XCTAssertGreaterThan(seen.max()!, v0)
        try checkSwapDelay(port: port, server: server, version: version)
        // The page's cluster feed has the server's stats.
        try waitFor(30, "cluster stats in /v1/cluster") {
            let c = try serve.call(RawHTTPConnection.get("/v1/cluster"))
            return ((c.json?["points"] as? [[String: Any]])?.last?["step"] as? NSNumber) != nil
        }
        // (25 epochs: long enough that the checks above run while it trains, even on a fast machine.)
        // The run ends (every epoch done): the server broadcasts its last weights, writes the
        // final model and exits; the follower keeps serving that last version.
        try waitFor(600, "the training run to finish") { !server.isRunning }
        let log = try String(contentsOf: dir.appendingPathComponent("server.log"), encoding: .utf8)
        guard let line = log.split(separator: "\n").first(where: { $0.contains("final model written") }),
              let r = line.range(of: "step=") else { return XCTFail("no final model in the server log") }
        let finalStep = Int(line[r.upperBound...].prefix { $0.isNumber })!
        try waitFor(10, "the served version to reach the final step \(finalStep)") { try version() == finalStep }
        let model = AgentRecommender(checkpoint: try AgentCheckpoint.read(from: dir.appendingPathComponent("model.safetensors")))
        let dataset = try PreparedDataset.load(from: data)
        for session: [Int32] in [[0], [3, 7], [5, 5, 9, 1], [29, 2, 29]] {
            var scorer = model.makeScorer(slots: 1)
            scorer.reset(slot: 0)
            var scores = [Float](repeating: 0, count: model.itemCount)
            for item in session {
                [item].withUnsafeBufferPointer { i in [true].withUnsafeBufferPointer { a in scores.withUnsafeMutableBufferPointer { scorer.step(inputs: i, active: a, scores: $0) } } }
            }
            let expected = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(5).map { dataset.itemIds[$0] }
            let ids = session.map { dataset.itemIds[Int($0)] }
            XCTAssertEqual(ints(try serve.post("/v1/recommend", "{\"session\": \(ids), \"k\": 5}").json?["items"]), expected, "session \(session)")
        }
        XCTAssertTrue(serve.isRunning)
        XCTAssertGreaterThanOrEqual(try serve.metric("irn_serve_model_swaps_total") ?? 0, 2)
    }
}
