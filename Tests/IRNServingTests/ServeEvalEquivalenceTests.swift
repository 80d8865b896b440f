import Foundation
import XCTest
import IRNAgents
import IRNBaselines
import IRNData
import IRNEvaluation
import IRNServing

/// On the real sample: for 1,000 test-split prefixes, the served top-10 (over HTTP, from the
/// binary, with concurrent clients so batches form) is the same item list as the ranking of
/// the evaluator's scorer (the exact scores `irn eval` ranks by, sorted: score descending,
/// then item index) — for agents with the repeat and repeat-next heads (pruned scoring; the
/// repeat head also with every logit by sgemm) and for a baseline.
final class ServeEvalEquivalenceTests: XCTestCase {
    static let prefixCount = 1000

    private func prepare(_ dir: URL) throws -> URL {
        let raw = sharedDataDirectory().appendingPathComponent("yoochoose-1pct")
        let clicks = raw.appendingPathComponent("yoochoose-clicks.dat.gz").path, buys = raw.appendingPathComponent("yoochoose-buys.dat.gz").path
        guard FileManager.default.isReadableFile(atPath: clicks), FileManager.default.isReadableFile(atPath: buys) else {
            throw XCTSkip("real sample not found at \(raw.path) (set IRN_SHARED_DATA to the shared data directory)")
        }
        let out = dir.appendingPathComponent("prep")
        try runIRN(["data", "prepare", "--clicks", clicks, "--buys", buys, "--out", out.path, "--days", "0", "--test-days", "14", "--valid-days", "7"])
        return out
    }

    private func runIRN(_ args: [String]) throws {
        let p = Process()
        p.executableURL = try serveBinDir().appendingPathComponent("irn")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ServeTestError("irn \(args.joined(separator: " ")) failed") }
    }

    /// (prefix dense items, expected top-10 dense items) for the first `count` prefixes of
    /// the test split, scored by `model`'s evaluator scorer in lock-step slots.
    private func reference(_ model: any Recommender, _ test: SessionSet, count: Int) -> [([Int32], [Int32])] {
        var out: [([Int32], [Int32])] = []
        let slots = 64, n = model.itemCount
        var s0 = 0
        while out.count < count && s0 < test.count {
            let group = Array(s0..<min(s0 + slots, test.count))
            s0 += slots
            var scorer = model.makeScorer(slots: slots)
            for m in 0..<slots { scorer.reset(slot: m) }
            let maxLen = group.map { test.length(of: $0) }.max() ?? 0
            var scores = [Float](repeating: 0, count: slots * n)
            for t in 0..<max(0, maxLen - 1) {
                var inputs = [Int32](repeating: -1, count: slots), active = [Bool](repeating: false, count: slots)
                for (m, s) in group.enumerated() where t < test.length(of: s) - 1 {
                    inputs[m] = test.items[test.offsets[s] + t]
                    active[m] = true
                }
                inputs.withUnsafeBufferPointer { i in active.withUnsafeBufferPointer { a in scores.withUnsafeMutableBufferPointer { scorer.step(inputs: i, active: a, scores: $0) } } }
                for (m, s) in group.enumerated() where active[m] {
                    let row = scores[(m * n)..<((m + 1) * n)]
                    let top = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(10).map { Int32($0 - m * n) }
                    out.append((Array(test.items[test.offsets[s]...(test.offsets[s] + t)]), top))
                }
            }
        }
        return Array(out.prefix(count))
    }

    private func check(_ model: any Recommender, modelFile: URL, data: URL, dataset: PreparedDataset, dir: URL, scoring: String = "pruned") throws {
        let ref = reference(model, dataset.test, count: Self.prefixCount)
        XCTAssertEqual(ref.count, Self.prefixCount, "the test split has enough prefixes")
        // A 20 ms window and 32 clients: batches of many rows (the sgemm path) as well as
        // the lone requests at the start and end (the sgemv path).
        let server = try ServeProcessHandle(["--model", modelFile.path, "--data", data.path, "--batch-window-us", "20000", "--scoring", scoring],
                                            log: dir.appendingPathComponent("serve-\(modelFile.lastPathComponent)-\(scoring).log"))
        defer { server.stop() }
        let served = ConcurrentResults(count: ref.count)
        let workers = 32
        onThreads(workers) { w in
            guard let conn = try? server.connection() else { return }
            for i in stride(from: w, to: ref.count, by: workers) {
                let ids = ref[i].0.map { dataset.itemIds[Int($0)] }
                let r = try? conn.send(RawHTTPConnection.post("/v1/recommend", json: "{\"session\": \(ids), \"k\": 10}"))
                let obj = r.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any] }
                served.set(i, ints(obj?["items"]))
            }
        }
        // Batches of one or two rows (sgemv on the sgemm path) and of three or more rows ran.
        let metrics = try server.call(RawHTTPConnection.get("/metrics")).body
        let upTo2 = metrics.split(separator: "\n").first { $0.hasPrefix("irn_serve_batch_size_bucket{le=\"2.0\"}") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
        XCTAssertLessThan(upTo2, try server.metric("irn_serve_batch_size_count") ?? 0, "some batch had 3 or more rows")
        var mismatches: [String] = []
        for (i, (prefix, top)) in ref.enumerated() where served.values[i] != top.map({ dataset.itemIds[Int($0)] }) {
            mismatches.append("prefix \(prefix): served \(served.values[i]) expected \(top.map { dataset.itemIds[Int($0)] })")
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(ref.count) prefixes differ, e.g. \(mismatches.prefix(3))")
    }

    func testServedTopKEqualsTheEvaluatorsRankingOnTheRealSample() throws {
        let dir = try serveTempDirectory("equiv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try prepare(dir)
        let dataset = try PreparedDataset.load(from: data)
        let agentFile = dir.appendingPathComponent("irn-p.safetensors")
        let agent = try writeRandomAgent(items: dataset.itemCount, hidden: 64, repeatHead: true, to: agentFile, seed: 11)
        // Pruned scoring (the default where the CPU has AVX512-BF16), and every logit by sgemm.
        try check(AgentRecommender(checkpoint: agent), modelFile: agentFile, data: data, dataset: dataset, dir: dir)
        try check(AgentRecommender(checkpoint: agent), modelFile: agentFile, data: data, dataset: dataset, dir: dir, scoring: "sgemm")

        // Repeat-next: the candidate gate starts away from zero so its terms change the ranking.
        var next = AgentConfig(algorithm: .irnP, items: dataset.itemCount)
        next.hidden = 64
        next.seed = 12
        next.head = .repeatNext(nextGateInit: [1, 0.5, 0.5, 2])
        try next.attachTransitions(from: dataset, split: .train)
        let nextFile = dir.appendingPathComponent("irn-p-next.safetensors")
        let nextModel = AgentCheckpoint(config: next, parameters: next.initialParameters(), epoch: 0)
        try nextModel.write(to: nextFile)
        try check(AgentRecommender(checkpoint: nextModel), modelFile: nextFile, data: data, dataset: dataset, dir: dir)

        let spopFile = dir.appendingPathComponent("spop.safetensors")
        try runIRN(["baseline", "--data", data.path, "--method", "spop", "--save", spopFile.path])
        let spop = try BaselinePersistence.load(ModelArchive.load(from: spopFile))
        try check(spop, modelFile: spopFile, data: data, dataset: dataset, dir: dir)
    }
}
