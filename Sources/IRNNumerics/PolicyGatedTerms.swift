/// The gated sparse terms of the policy logits, forward and backward: the repeat head's
/// z_i += g(h) . phi_i on each policy row's session-prefix items (docs/algorithm.md#repeat-head)
/// and the repeat-next head's z_j += g_n(h) . psi_j on its reached candidates
/// (docs/algorithm.md#repeat-next-head). Candidates are disjoint from prefix items, so the
/// order of the two sets does not matter.
extension WindowBackprop {
    /// The two term sets: which features, which gate, which gradient accumulators.
    enum GatedTerms {
        case prefix, next
    }

    private func withTerms(_ which: GatedTerms, _ losses: WindowLosses,
                           _ body: (UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>) -> Void) {
        switch which {
        case .prefix: losses.withPolicyPrefixes(body)
        case .next: losses.withPolicyNext(body)
        }
    }

    private func gate(_ which: GatedTerms, _ p: ParameterPointers, h: UnsafePointer<Float>) -> SIMD4<Float> {
        which == .prefix ? RepeatGate.value(p, head: shape.head, h: h) : RepeatGate.nextValue(p, head: shape.head, h: h)
    }

    /// Forward: adds the terms to the policy rows (which hold the base logits).
    /// O(4H + 4 x terms) per row.
    func addGatedTerms(_ which: GatedTerms, _ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items
        withTerms(which, losses) { off, items, phi in
            for r in 0..<losses.policy.count {
                let g = gate(which, p, h: policyH + r * H)
                let z = policyZ + r * N
                for e in Int(off[r])..<Int(off[r + 1]) {
                    let f = SIMD4<Float>(phi[4 * e], phi[4 * e + 1], phi[4 * e + 2], phi[4 * e + 3])
                    z[Int(items[e])] += (g * f).sum()
                }
            }
        }
    }

    /// Backward (rows hold dL/dz): dg = sum_i dz_i phi_i per row, then db += dg, and with the
    /// state gate dW += dg h^T and dh += W^T dg.
    func backwardGatedTerms(_ which: GatedTerms, _ p: ParameterPointers, losses: WindowLosses) {
        let H = shape.hidden, N = shape.items
        let stateGate = shape.head.gate == .state
        let (dW, db) = which == .prefix ? (dWg, dbg) : (dWn, dbn)
        let weights = which == .prefix ? p.repeatGateWeights : p.nextGateWeights
        withTerms(which, losses) { off, items, phi in
            for r in 0..<losses.policy.count {
                let dz = policyZ + r * N
                var dg = SIMD4<Float>.zero
                for e in Int(off[r])..<Int(off[r + 1]) {
                    let f = SIMD4<Float>(phi[4 * e], phi[4 * e + 1], phi[4 * e + 2], phi[4 * e + 3])
                    dg += dz[Int(items[e])] * f
                }
                for f in 0..<4 { db[f] += dg[f] }
                guard stateGate, let w = weights else { continue }
                let dh = dH + Int(losses.policy[r].index) * H, toH = !losses.policy[r].gatesOnly
                for f in 0..<4 where dg[f] != 0 {
                    FastMath.axpy(dg[f], policyH + r * H, dW + f * H, count: H)
                    if toH { FastMath.axpy(dg[f], w + f * H, dh, count: H) }
                }
            }
        }
    }
}
