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
    func run(_ p: NetworkParameters, policyTransposed: [Float]? = nil, rows: inout [Row]) {
        let B = rows.count, H = p.shape.hidden, N = p.shape.items
        Self.grow(&h, B * H); Self.grow(&c, B * H); Self.grow(&nh, B * H); Self.grow(&nc, B * H)
        Self.grow(&gates, B * 5 * H); Self.grow(&logits, B * N)
        if feed.count < B { feed = [Int32](repeating: -1, count: B) }
        var maxLen = 0
        for r in 0..<B {
            maxLen = max(maxLen, rows[r].items.count)
            h.withUnsafeMutableBufferPointer { hp in
                c.withUnsafeMutableBufferPointer { cp in
                    let dh = hp.baseAddress! + r * H, dc = cp.baseAddress! + r * H
                    if let sh = rows[r].h, let sc = rows[r].c, sh.count == H, sc.count == H {
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
                    rowsFed.removeAll(keepingCapacity: true)
                    for r in 0..<B {
                        let items = rows[r].items
                        let off = maxLen - items.count
                        guard t >= off else { continue }
                        let item = items[items.startIndex + t - off]
                        f[rowsFed.count] = item
                        (nhb + rowsFed.count * H).update(from: hb + r * H, count: H)
                        (ncb + rowsFed.count * H).update(from: cb + r * H, count: H)
                        rows[r].prefix?.feed(slot: 0, item: item)
                        rowsFed.append(r)
                    }
                    LSTMKernels.inferenceStep(pp, rows: rowsFed.count, items: f.baseAddress!, h: nhb, c: ncb, gates: g.baseAddress!)
                    for (i, r) in rowsFed.enumerated() {
                        (hb + r * H).update(from: nhb + i * H, count: H)
                        (cb + r * H).update(from: ncb + i * H, count: H)
                    }
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
