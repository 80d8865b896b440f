/// The repeat-next head's part of the policy logits (docs/algorithm.md#repeat-next-head):
/// z_j += g_n(h) . psi_j on each policy row's reached candidates, forward and backward. The
/// candidates are disjoint from the row's prefix items, so the order relative to the prefix
/// terms does not matter.
extension WindowBackprop {
    /// Forward: adds the candidate terms to the policy rows. O(4H + 4 x candidates) per row.
    func addNextTerms(_ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items, head = shape.head
        losses.withPolicyNext { off, items, psi in
            for r in 0..<losses.policy.count {
                let g = RepeatGate.nextValue(p, head: head, h: policyH + r * H)
                let z = policyZ + r * N
                for e in Int(off[r])..<Int(off[r + 1]) {
                    let f = SIMD4<Float>(psi[4 * e], psi[4 * e + 1], psi[4 * e + 2], psi[4 * e + 3])
                    z[Int(items[e])] += (g * f).sum()
                }
            }
        }
    }

    /// Backward (rows hold dL/dz): dg_n = sum_j dz_j psi_j per row, then db_n += dg_n, and
    /// with the state gate dW_n += dg_n h^T and dh += W_n^T dg_n.
    func backwardNextTerms(_ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items
        let stateGate = shape.head.gate == .state
        losses.withPolicyNext { off, items, psi in
            for r in 0..<losses.policy.count {
                let dz = policyZ + r * N
                var dg = SIMD4<Float>.zero
                for e in Int(off[r])..<Int(off[r + 1]) {
                    let f = SIMD4<Float>(psi[4 * e], psi[4 * e + 1], psi[4 * e + 2], psi[4 * e + 3])
                    dg += dz[Int(items[e])] * f
                }
                for f in 0..<4 { dbn[f] += dg[f] }
                guard stateGate, let wn = p.nextGateWeights else { continue }
                let dh = dH + Int(losses.policy[r].index) * H
                for f in 0..<4 where dg[f] != 0 {
                    FastMath.axpy(dg[f], policyH + r * H, dWn + f * H, count: H)
                    FastMath.axpy(dg[f], wn + f * H, dh, count: H)
                }
            }
        }
    }
}
