import CIRNKernels
import Foundation
import XCTest
@testable import IRNServing
import IRNNumerics
import IRNSupport

/// The pruned path: the bf16 first pass, its error bound, and that the pruned top k is the
/// top k of scoring every item exactly (the same float32 arithmetic), ties included.
final class PrunedScoringTests: XCTestCase {
    private func gaussian(_ rng: inout RandomSource, _ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in
            let u1 = max(Double(rng.next() % 1_000_000 + 1) / 1_000_001, 1e-9), u2 = Double(rng.next() % 1_000_000) / 1_000_000
            return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)) * scale
        }
    }

    /// The kernel agrees with the scalar reference (same products, float32 sums), and both stay
    /// within the bound of the exact float32 dot product, for odd shapes and every row count.
    func testFirstPassMatchesReferenceAndStaysWithinTheBound() {
        var rng = RandomSource(seed: 11)
        for (n, h) in [(1, 1), (70, 31), (200, 64), (129, 256)] {
            let w = gaussian(&rng, n * h, scale: 0.3)
            let np = irn_bf16_padded_items(n), hp = irn_bf16_padded_hidden(h)
            var packed = [UInt16](repeating: 7, count: np * hp), norms = [Float](repeating: 0, count: np)
            irn_bf16_pack_rows(w, n, h, nil, 0, &packed, &norms)
            for rows in [1, 2, 3, 4, 5, 9] {
                let hs = gaussian(&rng, rows * h, scale: 2)
                var hb = [UInt16](repeating: 0, count: rows * hp)
                for r in 0..<rows {
                    hs.withUnsafeBufferPointer { s in hb.withUnsafeMutableBufferPointer { irn_bf16_convert(s.baseAddress! + r * h, h, hp, $0.baseAddress! + r * hp) } }
                }
                var fast = [Float](repeating: .nan, count: rows * np), slow = fast
                irn_bf16_scores(packed, np, hp, hb, rows, &fast)
                irn_bf16_scores_reference(packed, np, hp, hb, rows, &slow)
                let c = irn_bf16_error_scale(h)
                for r in 0..<rows {
                    let hr = Array(hs[r * h ..< (r + 1) * h])
                    let hn = Float(hr.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()) * (1 + 0x1p-20)
                    let slack = irn_bf16_abs_slack(h, hn, norms.max()!)
                    var z = [Float](repeating: 0, count: n)
                    let all = (0..<n).map(Int32.init), zero = [Float](repeating: 0, count: n)
                    irn_exact_scores(w, h, hr, zero, all, n, &z)
                    for j in 0..<np {
                        let a = fast[r * np + j], b = slow[r * np + j]
                        XCTAssertLessThanOrEqual(abs(a - b), 1e-5 * (abs(b) + 1), "n \(n) h \(h) rows \(rows) r \(r) j \(j)")
                        if j >= n { XCTAssertEqual(a, 0); continue }
                        let bound = c * hn * norms[j] + slack
                        XCTAssertLessThanOrEqual(abs(a - z[j]), bound, "n \(n) h \(h) j \(j)")
                    }
                }
            }
        }
    }

    /// The vector candidate selection returns exactly what the scalar one does (skipped items,
    /// tails, k over the number of items, near-ties), and gives up on non-finite scores.
    func testCandidateSelectionMatchesTheScalarReference() {
        var rng = RandomSource(seed: 21)
        for trial in 0..<60 {
            let n = 1 + Int(rng.next() % 700), k = 1 + Int(rng.next() % 50)
            var a = gaussian(&rng, n).map { trial % 4 == 0 ? ($0 * 4).rounded() / 4 : $0 }
            let b = gaussian(&rng, n, scale: 0.1), norms = gaussian(&rng, n).map { abs($0) }
            for j in 0..<n where rng.next() % 7 == 0 { a[j] = -.infinity }
            var c1 = [Int32](repeating: -1, count: n), c2 = c1, h1 = [Float](repeating: 0, count: k), h2 = h1
            let scale = Float(trial % 3) * 0.01, slack: Float = 1e-30
            let n1 = irn_prune_candidates(a, b, norms, scale, slack, n, k, &c1, &h1)
            let n2 = irn_prune_candidates_reference(a, b, norms, scale, slack, n, k, &c2, &h2)
            XCTAssertEqual(n1, n2, "trial \(trial)")
            XCTAssertEqual(Array(c1.prefix(max(0, n1))), Array(c2.prefix(max(0, n2))), "trial \(trial)")
            let live = (0..<n).filter { a[$0] != -.infinity }
            XCTAssertGreaterThanOrEqual(n1, min(k, live.count))
            if trial % 10 == 0, let j = live.first {
                a[j] = .nan
                XCTAssertEqual(irn_prune_candidates(a, b, norms, scale, slack, n, k, &c1, &h1), -1, "not finite: give up")
                a[j] = .infinity
                XCTAssertEqual(irn_prune_candidates(a, b, norms, scale, slack, n, k, &c1, &h1), -1)
            }
        }
    }

    /// The exact scores do not depend on the batch: a fixed order per item.
    func testExactScoresAreTheSameWhateverTheCandidates() {
        var rng = RandomSource(seed: 5)
        let n = 50, h = 37
        let w = gaussian(&rng, n * h), hr = gaussian(&rng, h), b = gaussian(&rng, n)
        var all = [Float](repeating: 0, count: n), some = [Float](repeating: 0, count: n)
        irn_exact_scores(w, h, hr, b, (0..<n).map(Int32.init), n, &all)
        let pick: [Int32] = [49, 3, 17]
        irn_exact_scores(w, h, hr, b, pick, pick.count, &some)
        for j in pick { XCTAssertEqual(all[Int(j)].bitPattern, some[Int(j)].bitPattern) }
        // And it is a float32 dot product: close to the double one.
        for j in 0..<n {
            var d = Double(b[j])
            for i in 0..<h { d += Double(hr[i]) * Double(w[j * h + i]) }
            XCTAssertEqual(Double(all[j]), d, accuracy: 1e-4)
        }
    }

    /// Served top k (pruned) == the top k of every item scored exactly, item for item and bit
    /// for bit, for random models (plain and repeat heads), exclusions, stateful sessions, and
    /// adversarial near-ties: many items whose rows differ by one ulp or not at all.
    func testPrunedTopKEqualsTheFullExactTopK() throws {
        try XCTSkipUnless(PrunedPolicy.supported, "no AVX512-BF16 here: serving keeps the sgemm path")
        for (seed, head, ties) in [(1, PolicyHead.plain, false), (2, .repeatAware(), false), (3, .plain, true), (4, .repeatAware(), true)] as [(UInt64, PolicyHead, Bool)] {
            let shape = NetworkShape(items: 600, hidden: 48, head: head)
            var p = NetworkParameters(shape: shape, seed: seed)
            if ties {
                // Items 100..<300: copies of item 100 (exact ties), some nudged by one ulp, same bias.
                let w = ParameterGroup.policyWeights.rawValue, b = ParameterGroup.policyBias.rawValue
                for j in 101..<300 {
                    for i in 0..<48 {
                        var v = p.tensors[w][100 * 48 + i]
                        if j % 3 == 1 && i == j % 48 { v = v.nextUp }
                        if j % 3 == 2 && i == j % 48 { v = v.nextDown }
                        p.tensors[w][j * 48 + i] = v
                    }
                    p.tensors[b][j] = p.tensors[b][100]
                }
                // Make them the best items: a large shared bias.
                for j in 100..<300 { p.tensors[b][j] += 3 }
            }
            let model = ServingModel(kind: .agent(p), version: 0, name: "t", scoring: .pruned)
            XCTAssertNotNil(model.pruned)
            var rng = RandomSource(seed: seed + 100)
            let engine = ScoringEngine(sessions: SessionStore(capacity: 100, ttl: 100))
            for trial in 0..<12 {
                let B = 1 + trial * 5
                let jobs: [ServeJob] = (0..<B).map { i in
                    let len = 1 + Int(rng.next() % 6)
                    let items = (0..<len).map { _ in Int32(ties && i % 2 == 0 ? 100 + rng.next() % 200 : rng.next() % 600) }
                    if i % 4 == 3 { return ServeJob(kind: .event(session: "s\(i)", item: items[0]), k: 1 + i % 20, excludeSeen: i % 8 == 7) }
                    return ServeJob(kind: .recommend(items: items), k: 1 + (i * 7) % 40, excludeSeen: i % 3 == 0)
                }
                let before = jobs.map { job -> (h: [Float], c: [Float], prefix: PrefixTracker?) in
                    guard let id = job.sessionId, engine.sessions.contains(id) else { return ([], [], nil) }
                    let e = engine.sessions.entry(id, stateKey: "", now: 0)
                    return (e.h, e.c, e.prefix)
                }
                let got = engine.run(jobs, model: model, now: Double(trial))
                for (i, job) in jobs.enumerated() {
                    let ref = Self.fullExact(p, job: job, start: before[i], seen: job.sessionId.map { engine.sessions.entry($0, stateKey: "", now: 0).seen })
                    XCTAssertEqual(got[i].items, ref.items, "seed \(seed) trial \(trial) job \(i)")
                    XCTAssertEqual(got[i].scores.map(\.bitPattern), ref.scores.map(\.bitPattern), "seed \(seed) trial \(trial) job \(i)")
                }
            }
        }
    }

    /// Every item scored with `irn_exact_scores` plus the repeat terms as scoreStep adds them,
    /// then a full partial selection: what the pruned path must reproduce.
    static func fullExact(_ p: NetworkParameters, job: ServeJob, start: (h: [Float], c: [Float], prefix: PrefixTracker?),
                          seen: Set<Int32>?) -> (items: [Int32], scores: [Float]) {
        let N = p.shape.items, H = p.shape.hidden, head = p.shape.head
        let agent = AgentBatchScorer()
        var row: AgentBatchScorer.Row
        var excluded: Set<Int32>? = nil
        switch job.kind {
        case .recommend(let items):
            row = .init(h: nil, c: nil, items: items[...], prefix: head.isRepeat ? PrefixTracker(slots: 1, head: head) : nil)
            if job.excludeSeen { excluded = Set(items) }
        case .event(_, let item):
            row = .init(h: start.h, c: start.c, items: item.map { [$0][...] } ?? [],
                        prefix: head.isRepeat ? (start.prefix ?? PrefixTracker(slots: 1, head: head)) : nil)
            if job.excludeSeen { excluded = seen }
        }
        var rows = [row]
        agent.run(p, rows: &rows)  // the sgemm path: only its state is used here
        let h = agent.state(0, hidden: H).h
        var z = [Float](repeating: 0, count: N)
        p.withPointers { pp in
            irn_exact_scores(pp.policyWeights, H, h, pp.policyBias, (0..<N).map(Int32.init), N, &z)
            if rows[0].prefix != nil {
                let gate = RepeatGate.value(pp, head: head, h: h)
                rows[0].prefix!.forEach(slot: 0) { item, phi in z[Int(item)] += (gate * phi).sum() }
            }
        }
        var sel = TopKSelector()
        var items: [Int32] = [], scores: [Float] = []
        z.withUnsafeBufferPointer { sel.select($0, k: job.k, excluded: excluded, items: &items, values: &scores) }
        return (items, scores)
    }

    /// Follow mode repacks only the changed W_p rows: the same bf16 copy and norms as a full pack.
    func testIncrementalRepackEqualsAFullOne() {
        let shape = NetworkShape(items: 130, hidden: 40)
        var p = NetworkParameters(shape: shape, seed: 3)
        let first = PrunedPolicy(p)
        let w = ParameterGroup.policyWeights.rawValue
        for r in [0, 64, 129] { for i in 0..<40 { p.tensors[w][r * 40 + i] += Float(i + 1) } }
        let next = PrunedPolicy(p, previous: first, changedRows: [0, 64, 129])
        let full = PrunedPolicy(p)
        XCTAssertEqual(next.packed, full.packed)
        XCTAssertEqual(next.norms, full.norms)
        XCTAssertNotEqual(next.packed, first.packed, "the previous copy is untouched")
        if PrunedPolicy.supported {
            let m1 = ServingModel(kind: .agent(p), version: 1, name: "t")
            let m2 = ServingModel(agent: p, version: 2, name: "t", previous: m1, changedPolicyRows: [5])
            XCTAssertNotNil(m2.pruned)
            XCTAssertNil(m2.policyTransposed)
        }
    }
}
