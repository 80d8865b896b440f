import CIRNKernels
import IRNNumerics

/// The agent's batched path: every row starts from a state (zero, or a stored session's),
/// is fed its items in lock step (rows that are out of items wait, so sessions of any length
/// share the LSTM products), then all rows get their logits from ONE sgemm (B x H times
/// H x N) and, with the repeat head, the prefix term, exactly as `scoreStep` computes them.
/// Buffers are kept between batches: no per-element allocation on the hot path.
final class AgentBatchScorer {
    private var h: [Float] = []
    private var c: [Float] = []
    private var nh: [Float] = []
    private var nc: [Float] = []
    private var gates: [Float] = []
    private var feed: [Int32] = []
    private var rowsFed: [Int] = []
    private(set) var logits: [Float] = []
    // The pruned path's buffers: h in bf16, first-pass scores, candidates, exact scores.
    private var hb: [UInt16] = []
    private var approx: [Float] = []
    private var candidates: [Int32] = []
    private var heap: [Float] = []
    private var exact: [Float] = []
    private var forced: [Int32] = []
    /// Rows of the last `select` calls that needed every item scored exactly (a first-pass
    /// score was not finite), and the candidates scored exactly in all (for tests and metrics).
    private(set) var exactFallbacks = 0
    private(set) var candidatesScored = 0

    /// Batches of at most this many rows get their logits by sgemv (see `run`).
    static let gemvRows = 2

    /// One row's input: its starting state (nil: zero) and the items to feed.
    struct Row {
        var h: [Float]?
        var c: [Float]?
        var items: ArraySlice<Int32>
        var prefix: PrefixTracker?
    }

    /// Runs the rows; afterwards `logits[r * N ..< (r + 1) * N]` are row r's scores, and
    /// `state(r)` its new (h, c). Rows' prefix trackers are fed in place.
    /// With `pruned`, no logits are computed: the bf16 first pass fills `approx`, and `select`
    /// scores each row's candidates exactly.
    func run(_ p: NetworkParameters, policyTransposed: [Float]? = nil, pruned: PrunedPolicy? = nil, rows: inout [Row], lstmOnly: Bool = false) {
        let B = rows.count, H = p.shape.hidden, N = p.shape.items
        Self.grow(&h, B * H); Self.grow(&c, B * H); Self.grow(&nh, B * H); Self.grow(&nc, B * H)
        Self.grow(&gates, B * 5 * H)
        if pruned == nil { Self.grow(&logits, B * N) }
        if feed.count < B { feed = [Int32](repeating: -1, count: B) }
        var maxLen = 0
        for r in 0..<B {
            maxLen = max(maxLen, rows[r].items.count)
            h.withUnsafeMutableBufferPointer { hp in
                c.withUnsafeMutableBufferPointer { cp in
                    let dh = hp.baseAddress! + r * H, dc = cp.baseAddress! + r * H
                    if hasState(rows[r], hidden: H), let sh = rows[r].h, let sc = rows[r].c {
                        sh.withUnsafeBufferPointer { dh.update(from: $0.baseAddress!, count: H) }
                        sc.withUnsafeBufferPointer { dc.update(from: $0.baseAddress!, count: H) }
                    } else {
                        dh.update(repeating: 0, count: H)
                        dc.update(repeating: 0, count: H)
                    }
                }
            }
        }
        p.withPointers { pp in
            h.withUnsafeMutableBufferPointer { hp in
            c.withUnsafeMutableBufferPointer { cp in
            nh.withUnsafeMutableBufferPointer { nhp in
            nc.withUnsafeMutableBufferPointer { ncp in
            gates.withUnsafeMutableBufferPointer { g in
            feed.withUnsafeMutableBufferPointer { f in
                let hb = hp.baseAddress!, cb = cp.baseAddress!, nhb = nhp.baseAddress!, ncb = ncp.baseAddress!
                for t in 0..<maxLen {
                    // Right-aligned: every row's last item is fed at the last step. Only the
                    // rows fed this step are gathered, stepped and scattered back.
                    // Rows still at the zero state (their first item, no stored state) are
                    // gathered last, so the recurrent sgemm skips them.
                    rowsFed.removeAll(keepingCapacity: true)
                    var zeroState = 0
                    for pass in 0..<2 {
                        for r in 0..<B {
                            let items = rows[r].items
                            let off = maxLen - items.count
                            guard t >= off else { continue }
                            let fresh = t == off && !hasState(rows[r], hidden: H)
                            guard fresh == (pass == 1) else { continue }
                            let item = items[items.startIndex + t - off]
                            f[rowsFed.count] = item
                            (nhb + rowsFed.count * H).update(from: hb + r * H, count: H)
                            (ncb + rowsFed.count * H).update(from: cb + r * H, count: H)
                            rows[r].prefix?.feed(slot: 0, item: item)
                            rowsFed.append(r)
                            if fresh { zeroState += 1 }
                        }
                    }
                    LSTMKernels.inferenceStep(pp, rows: rowsFed.count, items: f.baseAddress!, h: nhb, c: ncb, gates: g.baseAddress!,
                                              zeroStateRows: zeroState)
                    for (i, r) in rowsFed.enumerated() {
                        (hb + r * H).update(from: nhb + i * H, count: H)
                        (cb + r * H).update(from: ncb + i * H, count: H)
                    }
                }
                if lstmOnly { return }
                if let pruned {
                    firstPass(pruned, rows: B, h: hb)
                    return
                }
                logits.withUnsafeMutableBufferPointer { z in
                    if B <= Self.gemvRows {
                        // Few rows: sgemv per row streams W_p once per row; sgemm would first
                        // pack all of W_p (N x H), which costs more than the product itself.
                        for r in 0..<B {
                            let row = z.baseAddress! + r * N
                            BLAS.gemv(rows: N, cols: H, a: pp.policyWeights, lda: H, x: hb + r * H, beta: 0, y: row)
                            for j in 0..<N { row[j] += pp.policyBias[j] }
                        }
                    } else if let wt = policyTransposed {
                        wt.withUnsafeBufferPointer { w in
                            BLAS.gemm(m: B, n: N, k: H, a: hb, lda: H, b: w.baseAddress!, ldb: N, beta: 0, c: z.baseAddress!, ldc: N)
                        }
                        for r in 0..<B {
                            let row = z.baseAddress! + r * N
                            for j in 0..<N { row[j] += pp.policyBias[j] }
                        }
                    } else {
                        LSTMKernels.logits(pp, rows: B, h: hb, out: z.baseAddress!)
                    }
                    let head = p.shape.head
                    for r in 0..<B where rows[r].prefix != nil {
                        let gate = RepeatGate.value(pp, head: head, h: hb + r * H)
                        let row = z.baseAddress! + r * N
                        rows[r].prefix!.forEach(slot: 0) { item, phi in row[Int(item)] += (gate * phi).sum() }
                        // Repeat-next: the candidates reached from the session's items, as scoreStep adds them.
                        if head.hasNext {
                            let gateNext = RepeatGate.nextValue(pp, head: head, h: hb + r * H)
                            rows[r].prefix!.forEachNext(slot: 0) { item, psi in row[Int(item)] += (gateNext * psi).sum() }
                        }
                    }
                }
            }}}}}}
        }
    }

    /// Whether the row starts from a stored state (else from zero).
    private func hasState(_ row: Row, hidden H: Int) -> Bool {
        row.h?.count == H && row.c?.count == H
    }

    /// The first pass again on the h of the last `run` (timing only).
    func firstPassOnCurrentState(_ pr: PrunedPolicy, rows B: Int) {
        h.withUnsafeMutableBufferPointer { firstPass(pr, rows: B, h: $0.baseAddress!) }
    }

    /// The bf16 first pass for B rows of h: approx[r * paddedItems + j] ~ h_r . w_j.
    func firstPass(_ pr: PrunedPolicy, rows B: Int, h hp: UnsafeMutablePointer<Float>) {
        let H = pr.hidden, Hp = pr.paddedHidden, Np = pr.paddedItems
        if hb.count < B * Hp { hb = [UInt16](repeating: 0, count: B * Hp) }
        Self.grow(&approx, B * Np)
        hb.withUnsafeMutableBufferPointer { b in
            for r in 0..<B { irn_bf16_convert(hp + r * H, H, Hp, b.baseAddress! + r * Hp) }
            pr.packed.withUnsafeBufferPointer { w in
                approx.withUnsafeMutableBufferPointer { a in
                    irn_bf16_scores(w.baseAddress!, Np, Hp, b.baseAddress!, B, a.baseAddress!)
                }
            }
        }
    }

    /// Row r's top k after `run`, into `items` / `values` (best first, ties to the lower item).
    /// sgemm path: partial selection over the row's logits. Pruned path: the items the bound
    /// cannot rule out (plus every item the repeat head adds a prefix term to) are scored
    /// exactly in float32 (`irn_exact_scores`), the prefix terms added as `scoreStep` adds
    /// them, and the top k taken among them: the top k of scoring every item that way.
    func select(_ p: NetworkParameters, pruned: PrunedPolicy?, row r: Int, rows: inout [Row], k: Int, excluded: Set<Int32>?,
                topK: inout TopKSelector, items: inout [Int32], values: inout [Float]) {
        let N = p.shape.items, H = p.shape.hidden, head = p.shape.head
        guard let pr = pruned else {
            logits.withUnsafeBufferPointer { z in
                topK.select(UnsafeBufferPointer(rebasing: z[r * N ..< (r + 1) * N]), k: k, excluded: excluded, items: &items, values: &values)
            }
            return
        }
        let Np = pr.paddedItems
        if exact.count < N { exact = [Float](repeating: 0, count: N) }
        if candidates.count < N { candidates = [Int32](repeating: 0, count: N) }
        if heap.count < k { heap = [Float](repeating: 0, count: k) }
        // Items whose score gets a repeat term: always scored exactly, left out of the bound.
        forced.removeAll(keepingCapacity: true)
        if rows[r].prefix != nil {
            rows[r].prefix!.forEach(slot: 0) { item, _ in forced.append(item) }
            if head.hasNext { rows[r].prefix!.forEachNext(slot: 0) { item, _ in forced.append(item) } }
        }
        var count = 0
        p.withPointers { pp in
            h.withUnsafeBufferPointer { hAll in
                let hr = hAll.baseAddress! + r * H
                var sq = 0.0
                for i in 0..<H { sq += Double(hr[i]) * Double(hr[i]) }
                let hNorm = Float(sq.squareRoot()) * (1 + 0x1p-20)
                approx.withUnsafeMutableBufferPointer { aAll in
                    let a = aAll.baseAddress! + r * Np
                    for j in forced { a[Int(j)] = -.infinity }
                    if let excluded { for j in excluded where j >= 0 && Int(j) < N { a[Int(j)] = -.infinity } }
                    var n = Int.max
                    if pr.finite && hNorm.isFinite {
                        let scale = irn_bf16_error_scale(H) * hNorm
                        let slack = irn_bf16_abs_slack(H, hNorm, pr.maxNorm)
                        n = pr.norms.withUnsafeBufferPointer { nm in
                            candidates.withUnsafeMutableBufferPointer { cd in
                                heap.withUnsafeMutableBufferPointer { hp in
                                    let m = irn_prune_candidates(a, pp.policyBias, nm.baseAddress!, scale, slack, N, k, cd.baseAddress!, hp.baseAddress!)
                                    return m < 0 ? Int.max : m
                                }
                            }
                        }
                    }
                    if n == Int.max {
                        // A first-pass score is not finite: every item exactly (the same arithmetic).
                        exactFallbacks += 1
                        for j in 0..<N { candidates[j] = Int32(j) }
                        count = N
                    } else {
                        count = n
                        // Forced items were set to -inf above; +inf marks one already added.
                        for j in forced where a[Int(j)] != .infinity { a[Int(j)] = .infinity; candidates[count] = j; count += 1 }
                    }
                }
                candidatesScored += count
                candidates.withUnsafeBufferPointer { cd in
                    exact.withUnsafeMutableBufferPointer { z in
                        irn_exact_scores(pp.policyWeights, H, hr, pp.policyBias, cd.baseAddress!, count, z.baseAddress!)
                        if rows[r].prefix != nil {
                            let gate = RepeatGate.value(pp, head: head, h: hr)
                            let zb = z.baseAddress!
                            rows[r].prefix!.forEach(slot: 0) { item, phi in zb[Int(item)] += (gate * phi).sum() }
                            if head.hasNext {
                                let gateNext = RepeatGate.nextValue(pp, head: head, h: hr)
                                rows[r].prefix!.forEachNext(slot: 0) { item, psi in zb[Int(item)] += (gateNext * psi).sum() }
                            }
                        }
                        topK.select(candidates: UnsafeBufferPointer(rebasing: cd[0 ..< count]), scores: UnsafeBufferPointer(z),
                                    k: k, excluded: excluded, items: &items, values: &values)
                    }
                }
            }
        }
    }

    /// Row r's repeat term for `item` (0 when the item is not in its prefix).
    func repeatTerm(_ p: NetworkParameters, row r: Int, prefix: PrefixTracker, items: [Int32]) -> [Float] {
        let H = p.shape.hidden
        var terms = [Float](repeating: 0, count: items.count)
        p.withPointers { pp in
            h.withUnsafeBufferPointer { hp in
                let gate = RepeatGate.value(pp, head: p.shape.head, h: hp.baseAddress! + r * H)
                prefix.forEach(slot: 0) { item, phi in
                    for (i, it) in items.enumerated() where it == item { terms[i] = (gate * phi).sum() }
                }
            }
        }
        return terms
    }

    /// Row r's state after `run` (copied out, for a stateful session).
    func state(_ r: Int, hidden H: Int) -> (h: [Float], c: [Float]) {
        (Array(h[r * H ..< (r + 1) * H]), Array(c[r * H ..< (r + 1) * H]))
    }

    private static func grow(_ a: inout [Float], _ n: Int) {
        if a.count < n { a = [Float](repeating: 0, count: n) }
    }
}
