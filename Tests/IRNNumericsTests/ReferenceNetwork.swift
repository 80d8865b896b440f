import Foundation
import IRNNumerics

/// A plain, scalar, Double-precision implementation of the window loss, written straight
/// from the definitions (no BLAS, no sparse tricks). Finite differences on it give the
/// reference gradients; its loss value checks the fast forward.
struct ReferenceNetwork {
    let shape: NetworkShape
    var p: [[Double]]

    init(_ params: NetworkParameters) {
        shape = params.shape
        p = params.tensors.map { $0.map(Double.init) }
    }

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// One LSTM step from (h, c) feeding `item` (< 0: none).
    func step(_ h: [Double], _ c: [Double], _ item: Int32) -> ([Double], [Double]) {
        let H = shape.hidden, G = 4 * H
        let wx = p[0], wh = p[1], b = p[2]
        var a = [Double](repeating: 0, count: G)
        for j in 0..<G {
            var s = b[j]
            if item >= 0 { s += wx[Int(item) * G + j] }
            for q in 0..<H { s += h[q] * wh[q * G + j] }
            a[j] = s
        }
        var nh = [Double](repeating: 0, count: H), nc = nh
        for j in 0..<H {
            let i = sigmoid(a[j]), f = sigmoid(a[H + j]), g = tanh(a[2 * H + j]), o = sigmoid(a[3 * H + j])
            nc[j] = f * c[j] + i * g
            nh[j] = o * tanh(nc[j])
        }
        return (nh, nc)
    }

    func logit(_ h: [Double], _ item: Int) -> Double {
        let H = shape.hidden
        var z = p[4][item]
        for q in 0..<H { z += h[q] * p[3][item * H + q] }
        return z
    }

    /// Repeat head: g(h) = W_g h + b_g (b_g alone for the constant gate).
    func gate(_ h: [Double]) -> [Double] {
        let H = shape.hidden
        return (0..<4).map { f in
            var g = p[8][f]
            if shape.head.gate == .state { for q in 0..<H { g += p[7][f * H + q] * h[q] } }
            return g
        }
    }

    /// Repeat-next head: g_n(h) = W_n h + b_n (b_n alone for the constant gate).
    func nextGate(_ h: [Double]) -> [Double] {
        let H = shape.hidden
        return (0..<4).map { f in
            var g = p[10][f]
            if shape.head.gate == .state { for q in 0..<H { g += p[9][f * H + q] * h[q] } }
            return g
        }
    }

    /// All N policy logits at h; with the repeat head, plus g(h) . phi on the prefix items
    /// given as (item, 4 features) pairs; with the repeat-next head also g_n(h) . psi on the
    /// candidates.
    func policyLogits(_ h: [Double], prefix: [(Int32, [Double])], next: [(Int32, [Double])] = []) -> [Double] {
        var z = (0..<shape.items).map { logit(h, $0) }
        if shape.head.isRepeat {
            let g = gate(h)
            for (item, phi) in prefix { for f in 0..<4 { z[Int(item)] += g[f] * phi[f] } }
        }
        if shape.head.hasNext {
            let g = nextGate(h)
            for (item, psi) in next { for f in 0..<4 { z[Int(item)] += g[f] * psi[f] } }
        }
        return z
    }

    func value(_ h: [Double]) -> Double {
        var v = p[6][0]
        for q in 0..<shape.hidden { v += h[q] * p[5][q] }
        return v
    }

    /// States after each step, [t * M + m].
    func forward(steps k: Int, slots M: Int, inputs: [Int32], resets: [Bool], h0: [Double], c0: [Double]) -> (h: [[Double]], c: [[Double]]) {
        let H = shape.hidden
        var hs: [[Double]] = [], cs: [[Double]] = []
        for t in 0..<k {
            for m in 0..<M {
                var h = t == 0 ? Array(h0[(m * H)..<((m + 1) * H)]) : hs[(t - 1) * M + m]
                var c = t == 0 ? Array(c0[(m * H)..<((m + 1) * H)]) : cs[(t - 1) * M + m]
                if resets[t * M + m] { h = [Double](repeating: 0, count: H); c = h }
                let (nh, nc) = step(h, c, inputs[t * M + m])
                hs.append(nh); cs.append(nc)
            }
        }
        return (hs, cs)
    }

    func loss(steps k: Int, slots M: Int, inputs: [Int32], resets: [Bool], h0: [Double], c0: [Double], losses: WindowLosses) -> Double {
        let (hs, cs) = forward(steps: k, slots: M, inputs: inputs, resets: resets, h0: h0, c0: c0)
        let N = shape.items
        var L = 0.0
        for (r, t) in losses.policy.enumerated() {
            let h = hs[Int(t.index)]
            var prefix: [(Int32, [Double])] = []
            if shape.head.isRepeat {
                for e in Int(losses.policyPrefixOffsets[r])..<Int(losses.policyPrefixOffsets[r + 1]) {
                    prefix.append((losses.policyPrefixItems[e], (0..<4).map { Double(losses.policyPrefixFeatures[4 * e + $0]) }))
                }
            }
            var next: [(Int32, [Double])] = []
            if shape.head.hasNext {
                for e in Int(losses.policyNextOffsets[r])..<Int(losses.policyNextOffsets[r + 1]) {
                    next.append((losses.policyNextItems[e], (0..<4).map { Double(losses.policyNextFeatures[4 * e + $0]) }))
                }
            }
            let z = policyLogits(h, prefix: prefix, next: next)
            let zmax = z.max()!
            let lse = zmax + log(z.reduce(0) { $0 + exp($1 - zmax) })
            L += -Double(t.coefficient) * (z[Int(t.action)] - lse)
            var ent = 0.0
            for j in 0..<N { let lp = z[j] - lse; ent -= exp(lp) * lp }
            L += -Double(t.entropy) * ent
        }
        for t in losses.value {
            let d = Double(t.target) - value(hs[Int(t.index)])
            L += 0.5 * Double(t.weight) * d * d
        }
        for t in losses.logit {
            let e = logit(hs[Int(t.index)], Int(t.item)) - 1
            L += Double(t.weight) * e * e
        }
        let D = losses.branchDepth
        for (b, root) in losses.branchRoots.enumerated() {
            var h = hs[Int(root)], c = cs[Int(root)]
            for d in 0..<D {
                let item = losses.branchItems[b * D + d]
                (h, c) = step(h, c, item)
                let e = logit(h, Int(item)) - 1
                L += Double(losses.branchWeights[b * D + d]) * e * e
            }
        }
        return L
    }
}
