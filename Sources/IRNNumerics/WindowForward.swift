extension WindowBackprop {
    /// Runs the window: at step t, each slot's state is zeroed when `resets[t*M+m]`, then
    /// `inputs[t*M+m]` is fed (< 0: no item row, bias only; such a slot should carry no loss).
    /// The state before step 0 is (initialH, initialC), each M x H.
    public func forward(
        _ parameters: NetworkParameters, steps k: Int, inputs inp: UnsafeBufferPointer<Int32>,
        resets rst: UnsafeBufferPointer<Bool>, initialH: UnsafeBufferPointer<Float>, initialC: UnsafeBufferPointer<Float>
    ) {
        let M = slots, H = shape.hidden
        precondition(parameters.shape == shape, "parameters do not match the workspace")
        precondition(k >= 1 && k <= maxSteps && inp.count >= k * M && rst.count >= k * M)
        precondition(initialH.count >= M * H && initialC.count >= M * H)
        steps = k
        window.items.update(from: inp.baseAddress!, count: k * M)
        resets.update(from: rst.baseAddress!, count: k * M)
        parameters.withPointers { p in
            unroll(p, window, steps: k, rows: M) { t, s in
                let srcH = t == 0 ? initialH.baseAddress! : UnsafePointer(window.hid + (t - 1) * M * H)
                let srcC = t == 0 ? initialC.baseAddress! : UnsafePointer(window.cell + (t - 1) * M * H)
                for m in 0..<M {
                    if resets[t * M + m] {
                        (s.hPrev + m * H).update(repeating: 0, count: H)
                        (s.cPrev + m * H).update(repeating: 0, count: H)
                    } else {
                        (s.hPrev + m * H).update(from: srcH + m * H, count: H)
                        (s.cPrev + m * H).update(from: srcC + m * H, count: H)
                    }
                }
            }
            LSTMKernels.values(p, rows: k * M, h: window.hid, out: vals)
        }
    }

    /// V of the window state at `index = step * slots + slot` (after `forward`).
    public func value(at index: Int) -> Float { vals[index] }

    /// Copies the state after the last step (M x H each): the recurrent state to carry on.
    public func copyFinalState(h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>) {
        let n = slots * shape.hidden
        h.update(from: window.hid + (steps - 1) * n, count: n)
        c.update(from: window.cell + (steps - 1) * n, count: n)
    }

    /// Runs `count` LSTM steps of `rows` rows each (the window's or the branches'): before
    /// step t, `enter(t, step)` writes the step's h_prev and c_prev (steps before t are done).
    func unroll(_ p: ParameterPointers, _ a: UnrolledActivations, steps count: Int, rows: Int,
                enter: (Int, LSTMStep) -> Void) {
        for t in 0..<count {
            let s = a.step(t, rows: rows, hidden: shape.hidden)
            enter(t, s)
            forwardStep(p, s, rows: rows)
        }
    }

    /// One LSTM step: gates = h_prev W_h + W_x[item] + b, then the cell (c, tanh c, h).
    func forwardStep(_ p: ParameterPointers, _ s: LSTMStep, rows: Int) {
        let H = shape.hidden, G = 4 * H
        BLAS.gemm(m: rows, n: G, k: H, a: s.hPrev, lda: H, b: p.recurrentWeights, ldb: G, beta: 0, c: s.gates, ldc: G, recorder: recorder)
        LSTMKernels.forwardCells(rows: rows, hidden: H, items: s.items, inputWeights: p.inputWeights,
                                 bias: p.gateBias, gates: s.gates, cPrev: s.cPrev, c: s.cell,
                                 tanhC: s.tanhC, h: s.hid)
    }
}
