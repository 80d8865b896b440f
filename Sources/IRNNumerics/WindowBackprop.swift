import Foundation

/// Forward and backward of the online network over one rollout window of k steps x M
/// slots (truncated BPTT; the state entering the window is a constant), with imagined
/// branches forking from window states. All buffers are allocated once, for the largest
/// window, so an iteration allocates nothing but the gradient's sparse rows.
///
/// Use: `forward` (gives the values V(s_t) an agent needs for its advantages), then
/// `backward` with the loss terms, which returns the loss and fills a gradient.
public final class WindowBackprop {
    public let shape: NetworkShape
    public let slots: Int
    public let maxSteps: Int
    public let maxBranches: Int
    public let maxDepth: Int
    /// When set, every product issued is recorded (FLOP counting in benchmarks).
    public var recorder: GemmRecorder?
    /// Test hook: treat the policy head as dense even without policy terms, so the sparse
    /// path can be compared with the dense one.
    public var forceDensePolicyHead = false

    public private(set) var steps = 0

    private let arena: Arena
    // Window activations, [step][slot][...].
    private let hPrev, cPrev, gates, cell, tanhC, hid: UnsafeMutablePointer<Float>
    private let vals: UnsafeMutablePointer<Float>
    private let inputs: UnsafeMutablePointer<Int32>
    private let resets: UnsafeMutablePointer<Bool>
    // Branch activations, [depth][branch][...].
    private let bhPrev, bcPrev, bGates, bCell, bTanhC, bHid: UnsafeMutablePointer<Float>
    private let bItems: UnsafeMutablePointer<Int32>
    private let bdH: UnsafeMutablePointer<Float>
    // Backward scratch.
    private let dH, dC: UnsafeMutablePointer<Float>
    private let dGates, dhCarry, dcCarry, dhTotal: UnsafeMutablePointer<Float>
    private let policyH, policyZ, policyDH, zRow: UnsafeMutablePointer<Float>
    private let rowLoss, entropyLoss: UnsafeMutablePointer<Double>
    // Dense gradient accumulators.
    private let dWh, db, dWp, dbp, dwv: UnsafeMutablePointer<Float>
    // Repeat head: gate gradients, and per policy row its gate value.
    private let dWg, dbg: UnsafeMutablePointer<Float>
    /// Repeat head: mean gate g(h) over the last backward's policy rows (a training signal to show).
    public private(set) var meanPolicyGate = SIMD4<Float>.zero
    private var dbv: Float = 0
    private let wxAcc: RowAccumulator
    private let wpAcc: RowAccumulator
    private let bpAcc: RowAccumulator

    public init(shape: NetworkShape, slots: Int, maxSteps: Int, maxBranches: Int = 0, maxDepth: Int = 0) {
        precondition(slots > 0 && maxSteps > 0)
        self.shape = shape
        self.slots = slots
        self.maxSteps = maxSteps
        self.maxBranches = maxBranches
        self.maxDepth = maxDepth
        let H = shape.hidden, N = shape.items, G = 4 * H
        let rows = maxSteps * slots
        let bRows = maxBranches * maxDepth
        let a = Arena()
        arena = a
        hPrev = a.floats(rows * H); cPrev = a.floats(rows * H); gates = a.floats(rows * G)
        cell = a.floats(rows * H); tanhC = a.floats(rows * H); hid = a.floats(rows * H)
        vals = a.floats(rows)
        inputs = a.ints(rows)
        resets = .allocate(capacity: rows); resets.initialize(repeating: false, count: rows)
        a.onFree { [resets] in resets.deallocate() }
        bhPrev = a.floats(bRows * H); bcPrev = a.floats(bRows * H); bGates = a.floats(bRows * G)
        bCell = a.floats(bRows * H); bTanhC = a.floats(bRows * H); bHid = a.floats(bRows * H)
        bItems = a.ints(bRows)
        bdH = a.floats(bRows * H)
        dH = a.floats(rows * H); dC = a.floats(rows * H)
        let wide = max(slots, maxBranches)
        dGates = a.floats(wide * G); dhCarry = a.floats(wide * H); dcCarry = a.floats(wide * H)
        dhTotal = a.floats(wide * H)
        policyH = a.floats(rows * H); policyZ = a.floats(rows * N); policyDH = a.floats(rows * H)
        zRow = a.floats(N)
        rowLoss = .allocate(capacity: rows); rowLoss.initialize(repeating: 0, count: rows)
        entropyLoss = .allocate(capacity: rows); entropyLoss.initialize(repeating: 0, count: rows)
        a.onFree { [rowLoss, entropyLoss] in rowLoss.deallocate(); entropyLoss.deallocate() }
        dWh = a.floats(H * G); db = a.floats(G); dWp = a.floats(N * H); dbp = a.floats(N); dwv = a.floats(H)
        dWg = a.floats(4 * H); dbg = a.floats(4)
        wxAcc = RowAccumulator(rows: N, width: G, expectedRows: rows + bRows)
        wpAcc = RowAccumulator(rows: N, width: H, expectedRows: rows + bRows)
        bpAcc = RowAccumulator(rows: N, width: 1, expectedRows: rows + bRows)
    }

    // MARK: forward

    /// Runs the window: at step t, each slot's state is zeroed when `resets[t*M+m]`, then
    /// `inputs[t*M+m]` is fed (< 0: no item row, bias only; such a slot should carry no loss).
    /// The state before step 0 is (initialH, initialC), each M x H.
    public func forward(
        _ parameters: NetworkParameters, steps k: Int, inputs inp: UnsafeBufferPointer<Int32>,
        resets rst: UnsafeBufferPointer<Bool>, initialH: UnsafeBufferPointer<Float>, initialC: UnsafeBufferPointer<Float>
    ) {
        let M = slots, H = shape.hidden, G = 4 * H
        precondition(parameters.shape == shape, "parameters do not match the workspace")
        precondition(k >= 1 && k <= maxSteps && inp.count >= k * M && rst.count >= k * M)
        precondition(initialH.count >= M * H && initialC.count >= M * H)
        steps = k
        inputs.update(from: inp.baseAddress!, count: k * M)
        resets.update(from: rst.baseAddress!, count: k * M)
        parameters.withPointers { p in
            for t in 0..<k {
                let hp = hPrev + t * M * H, cp = cPrev + t * M * H
                let srcH = t == 0 ? initialH.baseAddress! : UnsafePointer(hid + (t - 1) * M * H)
                let srcC = t == 0 ? initialC.baseAddress! : UnsafePointer(cell + (t - 1) * M * H)
                for m in 0..<M {
                    if resets[t * M + m] {
                        (hp + m * H).update(repeating: 0, count: H)
                        (cp + m * H).update(repeating: 0, count: H)
                    } else {
                        (hp + m * H).update(from: srcH + m * H, count: H)
                        (cp + m * H).update(from: srcC + m * H, count: H)
                    }
                }
                let g = gates + t * M * G
                BLAS.gemm(m: M, n: G, k: H, a: hp, lda: H, b: p.recurrentWeights, ldb: G, beta: 0, c: g, ldc: G, recorder: recorder)
                LSTMKernels.forwardCells(rows: M, hidden: H, items: inputs + t * M, inputWeights: p.inputWeights,
                                         bias: p.gateBias, gates: g, cPrev: cp, c: cell + t * M * H,
                                         tanhC: tanhC + t * M * H, h: hid + t * M * H)
            }
            LSTMKernels.values(p, rows: k * M, h: hid, out: vals)
        }
    }

    /// V of the window state at `index = step * slots + slot` (after `forward`).
    public func value(at index: Int) -> Float { vals[index] }
    /// Hidden state h at `index` (H floats).
    public func hidden(at index: Int) -> UnsafePointer<Float> { UnsafePointer(hid + index * shape.hidden) }
    /// Cell state c at `index` (H floats).
    public func cellState(at index: Int) -> UnsafePointer<Float> { UnsafePointer(cell + index * shape.hidden) }

    /// Copies the state after the last step (M x H each): the recurrent state to carry on.
    public func copyFinalState(h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>) {
        let n = slots * shape.hidden
        h.update(from: hid + (steps - 1) * n, count: n)
        c.update(from: cell + (steps - 1) * n, count: n)
    }

    // MARK: backward

    /// Differentiates the loss of `losses` (see `WindowLosses`) with respect to every parameter,
    /// writing `gradient` (its storage reused), and returns the loss value.
    public func backward(_ parameters: NetworkParameters, losses: WindowLosses, into gradient: inout NetworkGradient) -> LossBreakdown {
        precondition(steps > 0, "backward before forward")
        precondition(gradient.shape == shape)
        let M = slots, H = shape.hidden, G = 4 * H, N = shape.items, k = steps
        let P = losses.policy.count
        let denseHead = P > 0 || forceDensePolicyHead
        let head = shape.head
        if head.isRepeat {
            precondition(P == 0 || losses.policyPrefixOffsets.count == P + 1, "repeat head: every policy term needs its prefix (offsets \(losses.policyPrefixOffsets.count) for \(P) terms)")
            precondition(losses.policyPrefixFeatures.count == 4 * losses.policyPrefixItems.count)
            dWg.update(repeating: 0, count: 4 * H)
            dbg.update(repeating: 0, count: 4)
        } else {
            precondition(losses.policyPrefixItems.isEmpty, "prefix features given to a plain head")
        }
        var out = LossBreakdown()

        dH.update(repeating: 0, count: k * M * H)
        dC.update(repeating: 0, count: k * M * H)
        dWh.update(repeating: 0, count: H * G)
        db.update(repeating: 0, count: G)
        dwv.update(repeating: 0, count: H)
        dbv = 0
        wxAcc.clear(); wpAcc.clear(); bpAcc.clear()
        if denseHead {
            // With policy terms the first product below overwrites dW_p (beta 0).
            if P == 0 { dWp.update(repeating: 0, count: N * H) }
            dbp.update(repeating: 0, count: N)
        }

        parameters.withPointers { p in
            @inline(__always) func wpRow(_ item: Int) -> UnsafeMutablePointer<Float> {
                denseHead ? dWp + item * H : wpAcc.row(item)
            }
            @inline(__always) func addBp(_ item: Int, _ v: Float) {
                if denseHead { dbp[item] += v } else { bpAcc.row(item)[0] += v }
            }
            /// One squared error (z[item] - 1)^2 on hidden row h; its gradient on h goes to dh.
            @inline(__always) func logitError(_ h: UnsafePointer<Float>, _ item: Int, _ w: Float, _ dh: UnsafeMutablePointer<Float>) -> Double {
                let wrow = p.policyWeights + item * H
                let z = FastMath.dot(h, wrow, count: H) + p.policyBias[item]
                let e = z - 1
                let dz = 2 * w * e
                FastMath.axpy(dz, wrow, dh, count: H)
                FastMath.axpy(dz, h, wpRow(item), count: H)
                addBp(item, dz)
                return Double(w) * Double(e) * Double(e)
            }

            // Value head.
            for term in losses.value {
                let i = Int(term.index)
                let v = vals[i]
                let d = term.weight * (v - term.target)
                out.value += 0.5 * Double(term.weight) * Double(term.target - v) * Double(term.target - v)
                FastMath.axpy(d, p.valueWeights, dH + i * H, count: H)
                FastMath.axpy(d, hid + i * H, dwv, count: H)
                dbv += d
            }

            // Policy head: full softmax rows only for the policy terms.
            if P > 0 {
                for (r, term) in losses.policy.enumerated() {
                    (policyH + r * H).update(from: hid + Int(term.index) * H, count: H)
                }
                LSTMKernels.logits(p, rows: P, h: policyH, out: policyZ, recorder: recorder)
                if head.isRepeat { addPrefixTerms(p, losses: losses) }
                // Rows are independent: softmax and dZ in parallel, per-row losses summed after.
                losses.policy.withUnsafeBufferPointer { terms in
                    let anyEntropy = terms.contains { $0.entropy != 0 }
                    Parallel.chunks(P, minChunk: anyEntropy ? P : 8) { _, range in
                        for r in range { rowLoss[r] = policyRow(terms[r], z: policyZ + r * N, entropyOut: entropyLoss + r) }
                    }
                }
                for r in 0..<P { out.policy += rowLoss[r]; out.entropy += entropyLoss[r] }
                if head.isRepeat { backwardPrefixTerms(p, losses: losses) }
                // dW_p^T [N x H] = dZ^T [N x P] Hp [P x H]; dHp = dZ W_p^T.
                BLAS.gemm(transA: true, m: N, n: H, k: P, a: policyZ, lda: N, b: policyH, ldb: H,
                          beta: 0, c: dWp, ldc: H, recorder: recorder)
                BLAS.gemm(m: P, n: H, k: N, a: policyZ, lda: N, b: p.policyWeights, ldb: H,
                          beta: 0, c: policyDH, ldc: H, recorder: recorder)
                // db_p: column sums of dZ (columns split over threads, rows in order).
                Parallel.chunks(N, minChunk: 1024) { _, cols in
                    for r in 0..<P {
                        let z = policyZ + r * N
                        for j in cols { dbp[j] += z[j] }
                    }
                }
                for r in 0..<P {
                    FastMath.axpy(1, policyDH + r * H, dH + Int(losses.policy[r].index) * H, count: H)
                }
            }

            // Single-logit errors on window states (O(H) each).
            for term in losses.logit {
                let i = Int(term.index)
                out.logit += logitError(hid + i * H, Int(term.item), term.weight, dH + i * H)
            }

            // Imagined branches: forward, their logit errors, backward into the roots.
            let R = losses.branchCount, D = losses.branchDepth
            if R > 0 && D > 0 {
                precondition(R <= maxBranches && D <= maxDepth, "branches exceed the workspace (\(R) x \(D))")
                precondition(losses.branchItems.count == R * D && losses.branchWeights.count == R * D)
                let layer = R * H, gLayer = R * G
                for (b, root) in losses.branchRoots.enumerated() {
                    (bhPrev + b * H).update(from: hid + Int(root) * H, count: H)
                    (bcPrev + b * H).update(from: cell + Int(root) * H, count: H)
                }
                losses.branchItems.withUnsafeBufferPointer { items in
                    for d in 0..<D {
                        for b in 0..<R { bItems[d * R + b] = items[b * D + d] }
                    }
                }
                for d in 0..<D {
                    let hp = bhPrev + d * layer, cp = bcPrev + d * layer
                    if d > 0 {
                        hp.update(from: bHid + (d - 1) * layer, count: layer)
                        cp.update(from: bCell + (d - 1) * layer, count: layer)
                    }
                    let g = bGates + d * gLayer
                    BLAS.gemm(m: R, n: G, k: H, a: hp, lda: H, b: p.recurrentWeights, ldb: G, beta: 0, c: g, ldc: G, recorder: recorder)
                    LSTMKernels.forwardCells(rows: R, hidden: H, items: bItems + d * R, inputWeights: p.inputWeights,
                                             bias: p.gateBias, gates: g, cPrev: cp, c: bCell + d * layer,
                                             tanhC: bTanhC + d * layer, h: bHid + d * layer)
                }
                bdH.update(repeating: 0, count: D * layer)
                for b in 0..<R {
                    for d in 0..<D {
                        let w = losses.branchWeights[b * D + d]
                        if w == 0 { continue }
                        out.branch += logitError(bHid + d * layer + b * H, Int(bItems[d * R + b]), w, bdH + d * layer + b * H)
                    }
                }
                dhCarry.update(repeating: 0, count: layer)
                dcCarry.update(repeating: 0, count: layer)
                for d in stride(from: D - 1, through: 0, by: -1) {
                    for j in 0..<layer { dhTotal[j] = bdH[d * layer + j] + dhCarry[j] }
                    LSTMKernels.backwardCells(rows: R, hidden: H, gates: bGates + d * gLayer, cPrev: bcPrev + d * layer,
                                              tanhC: bTanhC + d * layer, dh: dhTotal, dc: dcCarry, dGates: dGates)
                    accumulateStep(p, rows: R, hPrev: bhPrev + d * layer, items: bItems + d * R, dhPrev: dhCarry)
                }
                for (b, root) in losses.branchRoots.enumerated() {
                    FastMath.axpy(1, dhCarry + b * H, dH + Int(root) * H, count: H)
                    FastMath.axpy(1, dcCarry + b * H, dC + Int(root) * H, count: H)
                }
            }

            // BPTT over the window.
            let layer = M * H
            dhCarry.update(repeating: 0, count: layer)
            dcCarry.update(repeating: 0, count: layer)
            for t in stride(from: k - 1, through: 0, by: -1) {
                for j in 0..<layer {
                    dhTotal[j] = dH[t * layer + j] + dhCarry[j]
                    dcCarry[j] += dC[t * layer + j]
                }
                LSTMKernels.backwardCells(rows: M, hidden: H, gates: gates + t * M * G, cPrev: cPrev + t * layer,
                                          tanhC: tanhC + t * layer, dh: dhTotal, dc: dcCarry, dGates: dGates)
                accumulateStep(p, rows: M, hPrev: hPrev + t * layer, items: inputs + t * M, dhPrev: t > 0 ? dhCarry : nil)
                if t > 0 {
                    // A reset state was a constant zero: nothing flows further back.
                    for m in 0..<M where resets[t * M + m] {
                        (dhCarry + m * H).update(repeating: 0, count: H)
                        (dcCarry + m * H).update(repeating: 0, count: H)
                    }
                }
            }
        }

        // Export.
        wxAcc.export(into: &gradient.parts[ParameterGroup.inputWeights.rawValue])
        gradient.parts[ParameterGroup.recurrentWeights.rawValue].assignDense(dWh)
        gradient.parts[ParameterGroup.gateBias.rawValue].assignDense(db)
        if denseHead {
            gradient.parts[ParameterGroup.policyWeights.rawValue].assignDense(dWp)
            gradient.parts[ParameterGroup.policyBias.rawValue].assignDense(dbp)
        } else {
            wpAcc.export(into: &gradient.parts[ParameterGroup.policyWeights.rawValue])
            bpAcc.export(into: &gradient.parts[ParameterGroup.policyBias.rawValue])
        }
        gradient.parts[ParameterGroup.valueWeights.rawValue].assignDense(dwv)
        withUnsafePointer(to: dbv) { gradient.parts[ParameterGroup.valueBias.rawValue].assignDense($0) }
        if head.isRepeat {
            gradient.parts[ParameterGroup.repeatGateWeights.rawValue].assignDense(dWg)
            gradient.parts[ParameterGroup.repeatGateBias.rawValue].assignDense(dbg)
        }
        return out
    }

    /// Repeat head, forward: z_i += g(h) . phi_i on each policy row's prefix items (the rows
    /// hold the base logits). O(4H + 4 x prefix) per row.
    private func addPrefixTerms(_ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items, head = shape.head
        losses.policyPrefixOffsets.withUnsafeBufferPointer { off in
            losses.policyPrefixItems.withUnsafeBufferPointer { items in
                losses.policyPrefixFeatures.withUnsafeBufferPointer { phi in
                    var sum = SIMD4<Float>.zero
                    defer { meanPolicyGate = sum / Float(max(losses.policy.count, 1)) }
                    for r in 0..<losses.policy.count {
                        let g = RepeatGate.value(p, head: head, h: policyH + r * H)
                        sum += g
                        let z = policyZ + r * N
                        for e in Int(off[r])..<Int(off[r + 1]) {
                            let f = SIMD4<Float>(phi[4 * e], phi[4 * e + 1], phi[4 * e + 2], phi[4 * e + 3])
                            z[Int(items[e])] += (g * f).sum()
                        }
                    }
                }
            }
        }
    }

    /// Repeat head, backward (rows hold dL/dz): dg = sum_i dz_i phi_i per row, then
    /// db_g += dg, and with the state gate dW_g += dg h^T and dh += W_g^T dg.
    private func backwardPrefixTerms(_ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items
        let stateGate = shape.head.gate == .state
        losses.policyPrefixOffsets.withUnsafeBufferPointer { off in
            losses.policyPrefixItems.withUnsafeBufferPointer { items in
                losses.policyPrefixFeatures.withUnsafeBufferPointer { phi in
                    for r in 0..<losses.policy.count {
                        let dz = policyZ + r * N
                        var dg = SIMD4<Float>.zero
                        for e in Int(off[r])..<Int(off[r + 1]) {
                            let f = SIMD4<Float>(phi[4 * e], phi[4 * e + 1], phi[4 * e + 2], phi[4 * e + 3])
                            dg += dz[Int(items[e])] * f
                        }
                        for f in 0..<4 { dbg[f] += dg[f] }
                        guard stateGate, let wg = p.repeatGateWeights else { continue }
                        let dh = dH + Int(losses.policy[r].index) * H
                        for f in 0..<4 where dg[f] != 0 {
                            FastMath.axpy(dg[f], policyH + r * H, dWg + f * H, count: H)
                            FastMath.axpy(dg[f], wg + f * H, dh, count: H)
                        }
                    }
                }
            }
        }
    }

    /// Softmax of one policy row in place, then dZ = coefficient (p - onehot(action)) plus the
    /// entropy term's gradient; returns -coefficient * log p(action), writes -beta H.
    private func policyRow(_ term: WindowLosses.Policy, z: UnsafeMutablePointer<Float>, entropyOut: UnsafeMutablePointer<Double>) -> Double {
        let N = shape.items
        let a = Int(term.action)
        let zmax = FastMath.max(z, count: N)
        let za = z[a]
        if term.entropy != 0 { zRow.update(from: z, count: N) }
        let sum = FastMath.expShiftedInPlace(z, count: N, shift: zmax)
        let logSum = Float(Foundation.log(Double(sum)))
        let loss = -Double(term.coefficient) * Double(za - zmax - logSum)
        let inv = 1 / sum
        let coef = term.coefficient
        entropyOut.pointee = 0
        if term.entropy != 0 {
            // H = -sum p log p; d(-beta H)/dz_j = beta p_j (log p_j + H). (Runs on one thread: zRow.)
            var ent: Double = 0
            for j in 0..<N {
                let pj = z[j] * inv
                if pj > 0 { ent -= Double(pj) * Double(zRow[j] - zmax - logSum) }
            }
            entropyOut.pointee = -Double(term.entropy) * ent
            let beta = term.entropy, hEnt = Float(ent)
            for j in 0..<N {
                let pj = z[j] * inv
                z[j] = coef * pj + beta * pj * ((zRow[j] - zmax - logSum) + hEnt)
            }
        } else {
            for j in 0..<N { z[j] = coef * (z[j] * inv) }
        }
        z[a] -= coef
        return loss
    }

    /// Parameter gradients of one LSTM step from dGates (rows x 4H): W_h, b, input rows; and
    /// dhPrev = dGates W_h^T when asked.
    private func accumulateStep(_ p: ParameterPointers, rows: Int, hPrev: UnsafePointer<Float>, items: UnsafePointer<Int32>, dhPrev: UnsafeMutablePointer<Float>?) {
        let H = shape.hidden, G = 4 * H
        BLAS.gemm(transA: true, m: H, n: G, k: rows, a: hPrev, lda: H, b: dGates, ldb: G, beta: 1, c: dWh, ldc: G, recorder: recorder)
        for r in 0..<rows {
            let dg = dGates + r * G
            for j in 0..<G { db[j] += dg[j] }
            let item = Int(items[r])
            if item >= 0 { FastMath.axpy(1, dg, wxAcc.row(item), count: G) }
        }
        if let dhPrev {
            BLAS.gemm(transB: true, m: rows, n: H, k: G, a: dGates, lda: G, b: p.recurrentWeights, ldb: G,
                      beta: 0, c: dhPrev, ldc: H, recorder: recorder)
        }
    }
}

/// Owns raw allocations of a workspace and frees them together.
final class Arena {
    private var frees: [() -> Void] = []
    func floats(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        p.initialize(repeating: 0, count: max(n, 1))
        frees.append { p.deallocate() }
        return p
    }
    func ints(_ n: Int) -> UnsafeMutablePointer<Int32> {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        p.initialize(repeating: -1, count: max(n, 1))
        frees.append { p.deallocate() }
        return p
    }
    func onFree(_ f: @escaping () -> Void) { frees.append(f) }
    deinit { for f in frees { f() } }
}
