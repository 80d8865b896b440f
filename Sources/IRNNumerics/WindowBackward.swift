/// The backward pass over a window, in the order its loss terms are differentiated:
/// output errors (value, policy), reconstruction errors at window states, imagined
/// branches, then BPTT through the window; then the gradient is exported.
extension WindowBackprop {
    /// Differentiates the loss of `losses` (see `WindowLosses`) with respect to every parameter,
    /// writing `gradient` (its storage reused), and returns the loss value.
    public func backward(_ parameters: NetworkParameters, losses: WindowLosses, into gradient: inout NetworkGradient) -> LossBreakdown {
        precondition(steps > 0, "backward before forward")
        precondition(gradient.shape == shape)
        startBackward(losses)
        var out = LossBreakdown()
        parameters.withPointers { p in
            // The order matters for rounding: every step adds into the same dH rows.
            out.value = valueErrors(p, losses.value)
            (out.policy, out.entropy) = policyErrors(p, losses)
            out.logit = windowReconstructionErrors(p, losses.logit)
            out.branch = imaginedBranches(p, losses)
            backpropagateThroughWindow(p)
        }
        exportGradient(into: &gradient)
        return out
    }

    /// Checks the repeat head's inputs and zeroes the errors and accumulators.
    private func startBackward(_ losses: WindowLosses) {
        let M = slots, H = shape.hidden, G = 4 * H, N = shape.items, k = steps
        let P = losses.policy.count
        densePolicyGradient = P > 0 || forceDensePolicyHead
        if shape.head.isRepeat {
            precondition(P == 0 || losses.policyPrefixOffsets.count == P + 1, "repeat head: every policy term needs its prefix (offsets \(losses.policyPrefixOffsets.count) for \(P) terms)")
            precondition(losses.policyPrefixFeatures.count == 4 * losses.policyPrefixItems.count)
            dWg.update(repeating: 0, count: 4 * H)
            dbg.update(repeating: 0, count: 4)
        } else {
            precondition(losses.policyPrefixItems.isEmpty, "prefix features given to a plain head")
        }
        if shape.head.hasNext {
            precondition(P == 0 || losses.policyNextOffsets.count == P + 1, "repeat-next head: every policy term needs its candidates (offsets \(losses.policyNextOffsets.count) for \(P) terms)")
            precondition(losses.policyNextFeatures.count == 4 * losses.policyNextItems.count)
            dWn.update(repeating: 0, count: 4 * H)
            dbn.update(repeating: 0, count: 4)
        } else {
            precondition(losses.policyNextItems.isEmpty, "candidate features given to a head without them")
        }
        dH.update(repeating: 0, count: k * M * H)
        dC.update(repeating: 0, count: k * M * H)
        dWh.update(repeating: 0, count: H * G)
        db.update(repeating: 0, count: G)
        dwv.update(repeating: 0, count: H)
        dbv = 0
        wxAcc.clear(); wpAcc.clear(); bpAcc.clear()
        if densePolicyGradient {
            // With policy terms the first product of `policyErrors` overwrites dW_p (beta 0).
            if P == 0 { dWp.update(repeating: 0, count: N * H) }
            dbp.update(repeating: 0, count: N)
        }
    }

    /// BPTT over the window's k steps; a reset state was a constant zero, so nothing flows
    /// back past a reset.
    private func backpropagateThroughWindow(_ p: ParameterPointers) {
        let M = slots, H = shape.hidden
        backpropagate(p, window, steps: steps, rows: M, dh: dH, dc: dC, intoInitialState: false) { t in
            for m in 0..<M where resets[t * M + m] {
                (dhCarry + m * H).update(repeating: 0, count: H)
                (dcCarry + m * H).update(repeating: 0, count: H)
            }
        }
    }

    /// Backward through `count` unrolled steps of `rows` rows, last to first. The error on
    /// step t's h is dh[t] plus what flows back from step t+1 (dhCarry); on its c, dc[t] (when
    /// given) plus dcCarry. Accumulates the parameter gradients. After step t > 0,
    /// `afterStep(t)` may edit the carries; after step 0, dcCarry holds the gradient on the
    /// initial c, and dhCarry the one on the initial h when `intoInitialState`.
    func backpropagate(_ p: ParameterPointers, _ a: UnrolledActivations, steps count: Int, rows: Int,
                       dh: UnsafePointer<Float>, dc: UnsafePointer<Float>?, intoInitialState: Bool,
                       afterStep: (Int) -> Void = { _ in }) {
        let H = shape.hidden, layer = rows * H
        dhCarry.update(repeating: 0, count: layer)
        dcCarry.update(repeating: 0, count: layer)
        for t in stride(from: count - 1, through: 0, by: -1) {
            if let dc {
                for j in 0..<layer {
                    dhTotal[j] = dh[t * layer + j] + dhCarry[j]
                    dcCarry[j] += dc[t * layer + j]
                }
            } else {
                for j in 0..<layer { dhTotal[j] = dh[t * layer + j] + dhCarry[j] }
            }
            backwardStep(p, a.step(t, rows: rows, hidden: H), rows: rows, dhPrev: t > 0 || intoInitialState ? dhCarry : nil)
            if t > 0 { afterStep(t) }
        }
    }

    /// Backward through one LSTM step, from dhTotal (error on h) and dcCarry (on c; left
    /// holding the error on c_prev): dGates, then the parameter gradients of W_h, b and the
    /// input rows, and dhPrev = dGates W_h^T when asked.
    private func backwardStep(_ p: ParameterPointers, _ s: LSTMStep, rows: Int, dhPrev: UnsafeMutablePointer<Float>?) {
        let H = shape.hidden, G = 4 * H
        LSTMKernels.backwardCells(rows: rows, hidden: H, gates: s.gates, cPrev: s.cPrev,
                                  tanhC: s.tanhC, dh: dhTotal, dc: dcCarry, dGates: dGates)
        BLAS.gemm(transA: true, m: H, n: G, k: rows, a: s.hPrev, lda: H, b: dGates, ldb: G, beta: 1, c: dWh, ldc: G, recorder: recorder)
        for r in 0..<rows {
            let dg = dGates + r * G
            for j in 0..<G { db[j] += dg[j] }
            let item = Int(s.items[r])
            if item >= 0 { FastMath.axpy(1, dg, wxAcc.row(item), count: G) }
        }
        if let dhPrev {
            BLAS.gemm(transB: true, m: rows, n: H, k: G, a: dGates, lda: G, b: p.recurrentWeights, ldb: G,
                      beta: 0, c: dhPrev, ldc: H, recorder: recorder)
        }
    }

    /// Writes the accumulated gradients into `gradient`: dense for the recurrent parts,
    /// sparse rows for the input rows (and the policy head when it had no policy terms).
    private func exportGradient(into gradient: inout NetworkGradient) {
        wxAcc.export(into: &gradient.parts[ParameterGroup.inputWeights.rawValue])
        gradient.parts[ParameterGroup.recurrentWeights.rawValue].assignDense(dWh)
        gradient.parts[ParameterGroup.gateBias.rawValue].assignDense(db)
        if densePolicyGradient {
            gradient.parts[ParameterGroup.policyWeights.rawValue].assignDense(dWp)
            gradient.parts[ParameterGroup.policyBias.rawValue].assignDense(dbp)
        } else {
            wpAcc.export(into: &gradient.parts[ParameterGroup.policyWeights.rawValue])
            bpAcc.export(into: &gradient.parts[ParameterGroup.policyBias.rawValue])
        }
        gradient.parts[ParameterGroup.valueWeights.rawValue].assignDense(dwv)
        withUnsafePointer(to: dbv) { gradient.parts[ParameterGroup.valueBias.rawValue].assignDense($0) }
        if shape.head.isRepeat {
            gradient.parts[ParameterGroup.repeatGateWeights.rawValue].assignDense(dWg)
            gradient.parts[ParameterGroup.repeatGateBias.rawValue].assignDense(dbg)
        }
        if shape.head.hasNext {
            gradient.parts[ParameterGroup.nextGateWeights.rawValue].assignDense(dWn)
            gradient.parts[ParameterGroup.nextGateBias.rawValue].assignDense(dbn)
        }
    }
}
