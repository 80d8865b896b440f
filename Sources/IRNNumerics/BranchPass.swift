/// Imagined branches (docs/algorithm.md#imagination-reconstruction): the online network, started
/// from a window state s_t, is fed an imagined trajectory; after each item, that item's
/// logit should be 1. Forward through the branches, their reconstruction errors, and the
/// backward through them into the window states they fork from.
extension WindowBackprop {
    /// Returns the branches' reconstruction loss; their gradient on the roots' h and c is
    /// added to the window's errors (dH, dC), for BPTT through the window.
    func imaginedBranches(_ p: ParameterPointers, _ losses: WindowLosses) -> Double {
        let R = losses.branchCount, D = losses.branchDepth
        guard R > 0 && D > 0 else { return 0 }
        precondition(R <= maxBranches && D <= maxDepth, "branches exceed the workspace (\(R) x \(D))")
        precondition(losses.branchItems.count == R * D && losses.branchWeights.count == R * D)
        let H = shape.hidden
        forwardBranches(p, losses)
        let loss = branchReconstructionErrors(p, losses)
        backpropagate(p, branch, steps: D, rows: R, dh: bdH, dc: nil, intoInitialState: true)
        for (b, root) in losses.branchRoots.enumerated() {
            FastMath.axpy(1, dhCarry + b * H, dH + Int(root) * H, count: H)
            FastMath.axpy(1, dcCarry + b * H, dC + Int(root) * H, count: H)
        }
        return loss
    }

    /// Branch b starts from window state `branchRoots[b]`; at depth d all R branches are fed
    /// their d-th item together (one R-row LSTM step).
    private func forwardBranches(_ p: ParameterPointers, _ losses: WindowLosses) {
        let R = losses.branchCount, D = losses.branchDepth, H = shape.hidden
        losses.branchItems.withUnsafeBufferPointer { items in
            for d in 0..<D {
                for b in 0..<R { branch.items[d * R + b] = items[b * D + d] }
            }
        }
        unroll(p, branch, steps: D, rows: R) { d, s in
            if d == 0 {
                for (b, root) in losses.branchRoots.enumerated() {
                    (s.hPrev + b * H).update(from: window.hid + Int(root) * H, count: H)
                    (s.cPrev + b * H).update(from: window.cell + Int(root) * H, count: H)
                }
            } else {
                s.hPrev.update(from: branch.hid + (d - 1) * R * H, count: R * H)
                s.cPrev.update(from: branch.cell + (d - 1) * R * H, count: R * H)
            }
        }
    }

    /// weight * (z[item] - 1)^2 after each imagined item (zero weights skipped); the errors on
    /// the branches' h go to bdH.
    private func branchReconstructionErrors(_ p: ParameterPointers, _ losses: WindowLosses) -> Double {
        let R = losses.branchCount, D = losses.branchDepth, H = shape.hidden, layer = R * H
        bdH.update(repeating: 0, count: D * layer)
        var loss = 0.0
        for b in 0..<R {
            for d in 0..<D {
                let w = losses.branchWeights[b * D + d]
                if w == 0 { continue }
                loss += reconstructionError(p, h: branch.hid + d * layer + b * H, item: Int(branch.items[d * R + b]),
                                            weight: w, dh: bdH + d * layer + b * H)
            }
        }
        return loss
    }
}
