/// The repeat head's part of the policy logits (docs/algorithm.md#repeat-head): z_i += g(h) . phi_i on each
/// policy row's session-prefix items, forward and backward.
extension WindowBackprop {
    /// Forward: adds the prefix terms to the policy rows (which hold the base logits).
    /// O(4H + 4 x prefix) per row.
    func addPrefixTerms(_ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items, head = shape.head
        losses.withPolicyPrefixes { off, items, phi in
            for r in 0..<losses.policy.count {
                let g = RepeatGate.value(p, head: head, h: policyH + r * H)
                let z = policyZ + r * N
                for e in Int(off[r])..<Int(off[r + 1]) {
                    let f = SIMD4<Float>(phi[4 * e], phi[4 * e + 1], phi[4 * e + 2], phi[4 * e + 3])
                    z[Int(items[e])] += (g * f).sum()
                }
            }
        }
    }

    /// Backward (rows hold dL/dz): dg = sum_i dz_i phi_i per row, then db_g += dg, and with
    /// the state gate dW_g += dg h^T and dh += W_g^T dg.
    func backwardPrefixTerms(_ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items
        let stateGate = shape.head.gate == .state
        losses.withPolicyPrefixes { off, items, phi in
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
