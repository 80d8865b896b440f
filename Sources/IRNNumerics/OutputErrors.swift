import Foundation

/// The errors on the network's outputs (the terms of `WindowLosses`): each adds its
/// gradient on h to the given rows and its head-parameter gradients to the accumulators,
/// and returns its part of the loss.
extension WindowBackprop {
    /// Value terms: weight * 0.5 * (target - V(s))^2 at window states.
    func valueErrors(_ p: ParameterPointers, _ terms: [WindowLosses.Value]) -> Double {
        let H = shape.hidden
        var loss = 0.0
        for term in terms {
            let i = Int(term.index)
            let v = vals[i]
            let d = term.weight * (v - term.target)
            loss += 0.5 * Double(term.weight) * Double(term.target - v) * Double(term.target - v)
            FastMath.axpy(d, p.valueWeights, dH + i * H, count: H)
            FastMath.axpy(d, window.hid + i * H, dwv, count: H)
            dbv += d
        }
        return loss
    }

    /// Policy terms: -coefficient * log softmax(z)[action] - entropy * H(softmax(z)) at
    /// window states, on full softmax rows (only the terms' rows are computed). Returns
    /// (policy, entropy) losses.
    func policyErrors(_ p: ParameterPointers, _ losses: WindowLosses) -> (policy: Double, entropy: Double) {
        let H = shape.hidden, N = shape.items, P = losses.policy.count
        var out = (policy: 0.0, entropy: 0.0)
        guard P > 0 else { return out }
        for (r, term) in losses.policy.enumerated() {
            (policyH + r * H).update(from: window.hid + Int(term.index) * H, count: H)
        }
        LSTMKernels.logits(p, rows: P, h: policyH, out: policyZ, recorder: recorder)
        if shape.head.isRepeat { addGatedTerms(.prefix, p, losses: losses) }
        if shape.head.hasNext { addGatedTerms(.next, p, losses: losses) }
        // Rows are independent: softmax and dZ in parallel, per-row losses summed after.
        losses.policy.withUnsafeBufferPointer { terms in
            let anyEntropy = terms.contains { $0.entropy != 0 }
            Parallel.chunks(P, minChunk: anyEntropy ? P : 8) { _, range in
                for r in range { rowLoss[r] = policyRow(terms[r], z: policyZ + r * N, entropyOut: entropyLoss + r) }
            }
        }
        for r in 0..<P { out.policy += rowLoss[r]; out.entropy += entropyLoss[r] }
        if shape.head.isRepeat { backwardGatedTerms(.prefix, p, losses: losses) }
        if shape.head.hasNext { backwardGatedTerms(.next, p, losses: losses) }
        // Gate-only rows have given the gates their gradient: none reaches W_p, b_p or h.
        for (r, term) in losses.policy.enumerated() where term.gatesOnly {
            (policyZ + r * N).update(repeating: 0, count: N)
        }
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
        return out
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

    /// Reconstruction errors at window states (PRN-P): weight * (z[item] - 1)^2.
    func windowReconstructionErrors(_ p: ParameterPointers, _ terms: [WindowLosses.Logit]) -> Double {
        let H = shape.hidden
        var loss = 0.0
        for term in terms {
            let i = Int(term.index)
            loss += reconstructionError(p, h: window.hid + i * H, item: Int(term.item), weight: term.weight, dh: dH + i * H)
        }
        return loss
    }

    /// One reconstruction error w * (z[item] - 1)^2 on hidden row h (base logit z = w_item . h
    /// + b_item); its gradient on h goes to dh. O(H): only that logit's row is touched.
    func reconstructionError(_ p: ParameterPointers, h: UnsafePointer<Float>, item: Int, weight w: Float,
                             dh: UnsafeMutablePointer<Float>) -> Double {
        let H = shape.hidden
        let wrow = p.policyWeights + item * H
        let z = FastMath.dot(h, wrow, count: H) + p.policyBias[item]
        let e = z - 1
        let dz = 2 * w * e
        FastMath.axpy(dz, wrow, dh, count: H)
        if densePolicyGradient {
            FastMath.axpy(dz, h, dWp + item * H, count: H)
            dbp[item] += dz
        } else {
            FastMath.axpy(dz, h, wpAcc.row(item), count: H)
            bpAcc.row(item)[0] += dz
        }
        return Double(w) * Double(e) * Double(e)
    }
}
