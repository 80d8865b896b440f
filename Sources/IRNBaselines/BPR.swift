import IRNData
import IRNEvaluation
import IRNNumerics
import IRNSupport

/// BPR-MF adapted to sessions (Rendle et al. 2009; as used for sessions by Hidasi et al. 2016).
///
/// One factor matrix Q (item x factors) and an item bias b. A session is represented by the
/// mean of its items' factors, u = mean_k Q[k]; item i scores u . Q[i] + b[i].
/// Training pairs are (session, event): the event's item is the positive, the session's other
/// events (as a multiset, the event itself left out so that an item does not simply explain
/// itself) form u, and a negative is drawn uniformly among the items not in the session.
/// Loss per pair: -ln sigmoid(x_pos - x_neg) + reg/2 (|Q[pos]|^2 + |Q[neg]|^2 + b[pos]^2 +
/// b[neg]^2 + mean_k |Q[k]|^2); plain SGD, pairs in a seeded random order each epoch.
/// Defaults (30 epochs at rate 0.1) were picked because 10 epochs at 0.05 left the model far
/// from converged on the real sample's validation split (purchase Recall@5 .15 against .34).
public struct BPRModel: Recommender {
    public struct Config: Sendable, Equatable {
        public var factors = 100
        public var epochs = 30
        public var learningRate: Float = 0.1
        public var regularization: Float = 0.001
        /// Factors start uniform in [-initScale, initScale]; biases at 0.
        public var initScale: Float = 0.01
        public var seed: UInt64 = 1
        public init() {}
    }

    public let itemCount: Int
    public let factors: Int
    /// Row-major item x factors.
    public internal(set) var q: [Float]
    public internal(set) var bias: [Float]

    public init(itemCount: Int, factors: Int, q: [Float], bias: [Float]) {
        precondition(q.count == itemCount * factors && bias.count == itemCount)
        self.itemCount = itemCount
        self.factors = factors
        self.q = q
        self.bias = bias
    }

    /// Random initial model (before training).
    public init(itemCount: Int, config: Config) {
        var rng = RandomSource(seed: config.seed, stream: 0xB9B)
        let d = config.factors
        self.init(itemCount: itemCount, factors: d,
                  q: (0..<(itemCount * d)).map { _ in (rng.nextFloat() * 2 - 1) * config.initScale },
                  bias: [Float](repeating: 0, count: itemCount))
    }

    /// Trains on every (session, event) pair of `train` for `config.epochs` epochs.
    public static func train(_ train: SessionSet, itemCount: Int, config: Config,
                             progress: Bool = false) -> BPRModel {
        var model = BPRModel(itemCount: itemCount, config: config)
        var rng = RandomSource(seed: config.seed, stream: 0xB9C)
        var pairs = [Int32](); pairs.reserveCapacity(train.eventCount)
        var owner = [Int32](repeating: 0, count: train.eventCount)
        for s in 0..<train.count where train.length(of: s) >= 2 {
            for e in train.range(of: s) { pairs.append(Int32(e)); owner[e] = Int32(s) }
        }
        var scratch = Scratch(factors: config.factors)
        var inSession = [UInt32](repeating: 0, count: itemCount)
        var reporter = ProgressReporter("bpr")
        for epoch in 0..<config.epochs {
            for i in stride(from: pairs.count - 1, to: 0, by: -1) { pairs.swapAt(i, rng.nextInt(below: i + 1)) }
            var lossSum = 0.0
            for (done, e32) in pairs.enumerated() {
                let e = Int(e32)
                let s = Int(owner[e])
                let r = train.range(of: s)
                let stamp = UInt32(done + 1) &+ UInt32(truncatingIfNeeded: epoch &* pairs.count)
                for k in r { inSession[Int(train.items[k])] = stamp }
                var neg = Int32(rng.nextInt(below: itemCount))
                var tries = 0
                while inSession[Int(neg)] == stamp && tries < 20 { neg = Int32(rng.nextInt(below: itemCount)); tries += 1 }
                scratch.context.removeAll(keepingCapacity: true)
                for k in r where k != e { scratch.context.append(train.items[k]) }
                lossSum += Double(model.sgdStep(context: scratch.context, positive: train.items[e], negative: neg,
                                                learningRate: config.learningRate, regularization: config.regularization,
                                                scratch: &scratch))
                if progress && done % 4096 == 0 {
                    reporter.tick("epoch \(epoch + 1)/\(config.epochs) pair \(done)/\(pairs.count) loss \(lossSum / Double(done + 1))")
                }
            }
            if progress { reporter.finish("epoch \(epoch + 1)/\(config.epochs) mean loss \(lossSum / Double(max(pairs.count, 1)))") }
        }
        return model
    }

    /// Reusable buffers of one training thread.
    public struct Scratch {
        var context: [Int32] = []
        var u: [Float]
        var delta: [Float] = []
        public init(factors: Int) { u = [Float](repeating: 0, count: factors) }
    }

    /// The loss of one (context, positive, negative) triple and its gradient with respect to
    /// every parameter, added into `gradQ` (item x factors) and `gradBias`.
    public func pairLoss(context: [Int32], positive: Int32, negative: Int32, regularization lambda: Float,
                         gradQ: inout [Float], gradBias: inout [Float]) -> Float {
        let d = factors, n = Float(context.count)
        var u = [Float](repeating: 0, count: d)
        for k in context { for f in 0..<d { u[f] += q[Int(k) * d + f] / n } }
        let p = Int(positive) * d, m = Int(negative) * d
        var x = bias[Int(positive)] - bias[Int(negative)]
        for f in 0..<d { x += u[f] * (q[p + f] - q[m + f]) }
        let g = sigmoid(-x)  // -dL/dx
        var loss = softplus(-x)
        var reg: Float = bias[Int(positive)] * bias[Int(positive)] + bias[Int(negative)] * bias[Int(negative)]
        for f in 0..<d { reg += q[p + f] * q[p + f] + q[m + f] * q[m + f] }
        for k in context { for f in 0..<d { reg += q[Int(k) * d + f] * q[Int(k) * d + f] / n } }
        loss += lambda / 2 * reg
        for f in 0..<d {
            gradQ[p + f] += -g * u[f] + lambda * q[p + f]
            gradQ[m + f] += g * u[f] + lambda * q[m + f]
        }
        for k in context {
            for f in 0..<d { gradQ[Int(k) * d + f] += (-g * (q[p + f] - q[m + f]) + lambda * q[Int(k) * d + f]) / n }
        }
        gradBias[Int(positive)] += -g + lambda * bias[Int(positive)]
        gradBias[Int(negative)] += g + lambda * bias[Int(negative)]
        return loss
    }

    /// One SGD step on one triple: the same gradient as `pairLoss`, computed from the
    /// parameters before the step (all deltas are collected first, then applied, so items
    /// that appear twice, e.g. a positive also in the context, are handled exactly).
    @discardableResult
    public mutating func sgdStep(context: [Int32], positive: Int32, negative: Int32, learningRate lr: Float,
                                 regularization lambda: Float, scratch: inout Scratch) -> Float {
        let d = factors
        let n = Float(context.count)
        let rows = context.count + 2
        if scratch.delta.count < rows * d { scratch.delta = [Float](repeating: 0, count: rows * d) }
        let pi = Int(positive), ni = Int(negative)
        return q.withUnsafeMutableBufferPointer { q in
            scratch.u.withUnsafeMutableBufferPointer { u in
                scratch.delta.withUnsafeMutableBufferPointer { delta in
                    u.update(repeating: 0)
                    for k in context { let row = Int(k) * d; for f in 0..<d { u[f] += q[row + f] } }
                    for f in 0..<d { u[f] /= n }
                    let p = pi * d, m = ni * d
                    var x = bias[pi] - bias[ni]
                    for f in 0..<d { x += u[f] * (q[p + f] - q[m + f]) }
                    let g = sigmoid(-x)
                    for f in 0..<d {
                        delta[f] = -g * u[f] + lambda * q[p + f]
                        delta[d + f] = g * u[f] + lambda * q[m + f]
                    }
                    for (j, k) in context.enumerated() {
                        let row = Int(k) * d, o = (j + 2) * d
                        for f in 0..<d { delta[o + f] = (-g * (q[p + f] - q[m + f]) + lambda * q[row + f]) / n }
                    }
                    for f in 0..<d { q[p + f] -= lr * delta[f]; q[m + f] -= lr * delta[d + f] }
                    for (j, k) in context.enumerated() {
                        let row = Int(k) * d, o = (j + 2) * d
                        for f in 0..<d { q[row + f] -= lr * delta[o + f] }
                    }
                    let bp = bias[pi], bn = bias[ni]
                    bias[pi] -= lr * (-g + lambda * bp)
                    bias[ni] -= lr * (g + lambda * bn)
                    return softplus(-x)
                }
            }
        }
    }

    public func makeScorer(slots: Int) -> any SessionScorer {
        Scorer(model: self, slots: slots)
    }

    struct Scorer: SessionScorer {
        let model: BPRModel
        var sums: [Float]   // slots x factors: sum of fed items' factors
        var counts: [Int]
        var users: [Float]  // slots x factors: the means
        var itemCount: Int { model.itemCount }

        init(model: BPRModel, slots: Int) {
            self.model = model
            sums = [Float](repeating: 0, count: slots * model.factors)
            users = sums
            counts = [Int](repeating: 0, count: slots)
        }

        mutating func reset(slot: Int) {
            let d = model.factors
            for f in 0..<d { sums[slot * d + f] = 0 }
            counts[slot] = 0
        }

        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            let d = model.factors, n = model.itemCount, slots = active.count
            for slot in 0..<slots where active[slot] {
                let item = Int(inputs[slot])
                if item >= 0 {
                    for f in 0..<d { sums[slot * d + f] += model.q[item * d + f] }
                    counts[slot] += 1
                }
                let c = Float(max(counts[slot], 1))
                for f in 0..<d { users[slot * d + f] = sums[slot * d + f] / c }
                let row = scores.baseAddress! + slot * n
                model.bias.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: n) }
            }
            // scores (slots x n) += users (slots x d) * Q^T; inactive rows are scratch.
            model.q.withUnsafeBufferPointer { q in
                users.withUnsafeBufferPointer { u in
                    BLAS.gemm(transB: true, m: slots, n: n, k: d, a: u.baseAddress!, lda: d, b: q.baseAddress!, ldb: d,
                              beta: 1, c: scores.baseAddress!, ldc: n)
                }
            }
        }
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { x >= 0 ? 1 / (1 + expF(-x)) : expF(x) / (1 + expF(x)) }
/// ln(1 + e^x) without overflow.
@inline(__always) func softplus(_ x: Float) -> Float { x > 0 ? x + log1pF(expF(-x)) : log1pF(expF(x)) }
