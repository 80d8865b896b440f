import Foundation
import XCTest
import IRNData
import IRNServing
import IRNSupport

/// `irn serve --follow` against a real training cluster (irn-server + irn-actor processes):
/// the served version moves while training runs, and catches up with the server's final
/// step within a broadcast interval (plus the test's slack on a loaded machine).
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

    func testFollowServesTheClustersNewWeightsAsTheyArrive() throws {
        let dir = try serveTempDirectory("follow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        try tinyDataset(sessions: 300, items: 30).save(to: data)
        let port = 23_000 + Int(getpid() % 400) * 10
        let server = try start("irn-server", [
            "--data", data.path, "--algo", "irn-p", "--hidden", "16", "--batch", "4", "--epochs", "1000",
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
        // The page's cluster feed has the server's stats.
        try waitFor(30, "cluster stats in /v1/cluster") {
            let c = try serve.call(RawHTTPConnection.get("/v1/cluster"))
            return ((c.json?["points"] as? [[String: Any]])?.last?["step"] as? NSNumber) != nil
        }
        // Training stops (the actor leaves): the served version reaches the server's last step.
        actor.terminate()
        actor.waitUntilExit()
        // The feed samples the server once a second: two samples taken over a second after
        // the actor left, with the same step, give the server's final step.
        let stopped = Date().timeIntervalSince1970
        var last = -1
        try waitFor(60, "the server's step to settle") {
            let c = try serve.call(RawHTTPConnection.get("/v1/cluster"))
            let late = (c.json?["points"] as? [[String: Any]] ?? []).filter { (($0["t"] as? NSNumber)?.doubleValue ?? 0) > stopped + 1 }
            let steps = late.suffix(2).compactMap { ($0["step"] as? NSNumber)?.intValue }
            last = steps.last ?? -1
            return steps.count == 2 && steps[0] == steps[1] && last > 0
        }
        try waitFor(10, "the served version to reach step \(last)") { try version() == last }
        XCTAssertTrue(serve.isRunning)
        XCTAssertGreaterThanOrEqual(try serve.metric("irn_serve_model_swaps_total") ?? 0, 2)
    }
}
