import Foundation
import IRNNumerics
import IRNSupport

/// Runs the target (imagination) network pi_hat on the window's real inputs, keeping its
/// own per-slot recurrent state, and
/// - samples, for every active (step, slot), `breadth` trajectories of `depth` items:
///   the first item from pi_hat(.|s_t), each next one after feeding the previous item to the
///   target LSTM (docs/algorithm.md#imagination-reconstruction);
/// - computes target values V(s; theta^-) on window states and on the lookahead states
///   after the window, for the -F n-step returns.
/// Sampling draws from a seeded `RandomSource`, so runs repeat bit for bit.
public final class TrajectoryManager {
    public let shape: NetworkShape
    public let slots: Int
    public let maxSteps: Int
    public let breadth: Int
    public let depth: Int
    public let lookahead: Int
    public var recorder: GemmRecorder?
    public var rng: RandomSource

    /// Target recurrent state per slot (M x H each), carried across windows.
    public private(set) var stateH: [Float]
    public private(set) var stateC: [Float]

    /// After `run`: roots (window index t*M+m) of the sampled trajectories, `breadth` per
    /// active (t, m) in index order; items `[trajectory * depth + tau]`.
    public private(set) var roots: [Int32] = []
    public private(set) var items: [Int32] = []
    /// After `run` with values: V(s; theta^-) at window index t*M+m for t < k, and at
    /// (k + j) * M + m for the state after feeding the slot's last target and j lookahead items.
    public private(set) var values: [Float]

    private let winH, winC, gates, extH, extC, rowsH, rowsC, logits, blockSums, uniforms: UnsafeMutablePointer<Float>
    private let blockStride: Int
    private let feed: UnsafeMutablePointer<Int32>
    private let maxRows: Int

    /// Restarts the sampler's random stream.
    public func reseed(_ seed: UInt64) { rng = RandomSource(seed: seed) }

    public init(shape: NetworkShape, slots: Int, maxSteps: Int, breadth: Int, depth: Int, lookahead: Int, seed: UInt64) {
        self.shape = shape
        self.slots = slots
        self.maxSteps = maxSteps
        self.breadth = breadth
        self.depth = depth
        self.lookahead = lookahead
        rng = RandomSource(seed: seed)
        let H = shape.hidden, N = shape.items, M = slots
        stateH = [Float](repeating: 0, count: M * H)
        stateC = stateH
        values = [Float](repeating: 0, count: (maxSteps + lookahead) * M)
        maxRows = max(maxSteps * M * breadth, M)
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1)); p.initialize(repeating: 0, count: max(n, 1)); return p
        }
        winH = alloc(maxSteps * M * H); winC = alloc(maxSteps * M * H)
        gates = alloc(maxRows * 5 * H)
        extH = alloc(M * H); extC = alloc(M * H)
        rowsH = alloc(maxRows * H); rowsC = alloc(maxRows * H)
        logits = alloc(maxRows * N)
        blockStride = N / FastMath.sampleBlock + 1
        blockSums = alloc(maxRows * blockStride)
        uniforms = alloc(maxRows * max(breadth, 1))
        feed = .allocate(capacity: maxRows); feed.initialize(repeating: -1, count: maxRows)
        roots.reserveCapacity(maxRows)
        items.reserveCapacity(maxRows * depth)
    }

    deinit {
        for p in [winH, winC, gates, extH, extC, rowsH, rowsC, logits, blockSums, uniforms] { p.deallocate() }
        feed.deallocate()
    }

    public func resetState() {
        stateH.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        stateC.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Advances the target state through the window; samples trajectories when `sample`,
    /// computes target values when `bootstrap`.
    public func run(target: NetworkParameters, window w: RolloutWindow, sample: Bool, bootstrap: Bool) {
        let M = slots, H = shape.hidden, N = shape.items, k = w.steps
        precondition(target.shape == shape && w.slots == M && k <= maxSteps && w.lookahead == lookahead)
        roots.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
        target.withPointers { p in
            // Real inputs, step by step, from the carried state.
            stateH.withUnsafeBufferPointer { sh in
                stateC.withUnsafeBufferPointer { sc in
                    extH.update(from: sh.baseAddress!, count: M * H)
                    extC.update(from: sc.baseAddress!, count: M * H)
                }
            }
            w.inputs.withUnsafeBufferPointer { inp in
                for t in 0..<k {
                    for m in 0..<M where w.resets[t * M + m] {
                        (extH + m * H).update(repeating: 0, count: H)
                        (extC + m * H).update(repeating: 0, count: H)
                    }
                    LSTMKernels.inferenceStep(p, rows: M, items: inp.baseAddress! + t * M, h: extH, c: extC, gates: gates, recorder: recorder)
                    (winH + t * M * H).update(from: extH, count: M * H)
                    (winC + t * M * H).update(from: extC, count: M * H)
                }
            }
            stateH.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: extH, count: M * H) }
            stateC.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: extC, count: M * H) }

            if bootstrap {
                values.withUnsafeMutableBufferPointer { v in
                    LSTMKernels.values(p, rows: k * M, h: winH, out: v.baseAddress!)
                    // Continue each slot's session past the window: feed its last target, then
                    // lookahead items (a copy of the state; the carried state stays at step k-1).
                    for j in 0..<lookahead {
                        for m in 0..<M {
                            feed[m] = j == 0 ? (w.active[(k - 1) * M + m] ? w.targets[(k - 1) * M + m] : -1)
                                             : w.lookaheadItems[m * lookahead + j - 1]
                        }
                        LSTMKernels.inferenceStep(p, rows: M, items: feed, h: extH, c: extC, gates: gates, recorder: recorder)
                        LSTMKernels.values(p, rows: M, h: extH, out: v.baseAddress! + (k + j) * M)
                    }
                }
            }

            guard sample else { return }
            // Roots: every active (t, m); first items from pi_hat(.|s_t).
            var A = 0
            for i in 0..<(k * M) where w.active[i] {
                (rowsH + A * H).update(from: winH + i * H, count: H)
                feed[A] = Int32(i)
                A += 1
            }
            if A == 0 { return }
            // Logits without bias: the bias is added row by row while the row is in cache.
            BLAS.gemm(transB: true, m: A, n: N, k: H, a: rowsH, lda: H, b: p.policyWeights, ldb: H,
                      beta: 0, c: logits, ldc: N, recorder: recorder)
            let R = A * breadth
            items.append(contentsOf: repeatElement(-1, count: R * depth))
            // Uniforms drawn in a fixed order first, so the rows can run in parallel and the
            // samples do not depend on the thread count.
            for j in 0..<(A * breadth) { uniforms[j] = rng.nextFloat() }
            for a in 0..<A { for _ in 0..<breadth { roots.append(feed[a]) } }
            items.withUnsafeMutableBufferPointer { it in
                let out = it.baseAddress!
                Parallel.chunks(A, minChunk: 16) { _, range in
                    for a in range {
                        let z = logits + a * N, bs = blockSums + a * blockStride
                        let total = FastMath.softmaxWeights(z, bias: p.policyBias, count: N, blockSums: bs)
                        for j in 0..<breadth {
                            out[(a * breadth + j) * depth] = Int32(FastMath.sampleIndex(z, count: N, blockSums: bs, total: total, u: uniforms[a * breadth + j]))
                        }
                    }
                }
            }
            if depth == 1 { return }
            // Deeper items: branch states start at their roots' target states.
            for r in 0..<R {
                let i = Int(roots[r])
                (rowsH + r * H).update(from: winH + i * H, count: H)
                (rowsC + r * H).update(from: winC + i * H, count: H)
            }
            items.withUnsafeMutableBufferPointer { it in
                for tau in 1..<depth {
                    LSTMKernels.inferenceStep(p, rows: R, items: it.baseAddress! + (tau - 1), itemStride: depth,
                                              h: rowsH, c: rowsC, gates: gates, recorder: recorder)
                    BLAS.gemm(transB: true, m: R, n: N, k: H, a: rowsH, lda: H, b: p.policyWeights, ldb: H,
                              beta: 0, c: logits, ldc: N, recorder: recorder)
                    for r in 0..<R { uniforms[r] = rng.nextFloat() }
                    let out = it.baseAddress!
                    Parallel.chunks(R, minChunk: 16) { _, range in
                        for r in range {
                            let z = logits + r * N, bs = blockSums + r * blockStride
                            let total = FastMath.softmaxWeights(z, bias: p.policyBias, count: N, blockSums: bs)
                            out[r * depth + tau] = Int32(FastMath.sampleIndex(z, count: N, blockSums: bs, total: total, u: uniforms[r]))
                        }
                    }
                }
            }
        }
    }
}
