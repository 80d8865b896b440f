import IRNData
import IRNEvaluation

/// GRU4Rec (Hidasi et al. 2016; BPR-max loss of Hidasi & Karatzoglou 2018): one GRU layer on
/// one-hot item inputs, an output layer scoring items by h . Wy[i] + by[i] (followed by
/// elu during training), trained with session-parallel mini-batches.
///
/// Defaults are the published `rsc15_bpr-max` parameter sample of the reference code:
/// 100 units, batch 32, BPR-max with bpreg 1, final activation elu with alpha 0.5, tanh
/// candidate, Adagrad with learning rate 0.2 and momentum 0.3, no dropout, 10 epochs,
/// separate input and output item weights (constrained_embedding off). Choices made here:
/// - Negatives are the other targets of the same mini-batch (the IRN paper's setting);
///   the reference sample also adds n_sample = 2,048 extra negatives shared by the batch
///   (sample_alpha 0: uniform), available as `negativeSamples` / `sampleAlpha`, default 0.
/// - Sessions are taken in the order of the training set (the loader sorts them by time);
///   no shuffling, as in the reference.
/// - Adagrad on sparse rows aggregates the gradients of a row that occurs twice in a batch
///   before updating its accumulator (the reference updates it once per occurrence).
/// - Evaluation ranks by h . Wy[i] + by[i] without elu: elu is strictly increasing, and
///   leaving it out avoids artificial ties where it saturates at -alpha in Float.
public struct GRU4RecModel: Recommender {
    public struct Config: Sendable, Equatable {
        public enum Optimizer: String, Sendable, CaseIterable { case adagrad, adam }
        /// bpr-max (the IRN paper's GRU4Rec) or cross-entropy over the same columns (the
        /// reference's strongest setting for next-click prediction on this data).
        public enum Loss: String, Sendable, CaseIterable { case bprMax = "bpr-max", crossEntropy = "xe" }
        public var loss: Loss = .bprMax
        public var hidden = 100
        public var batchSize = 32
        public var epochs = 10
        public var learningRate: Float = 0.2
        public var momentum: Float = 0.3
        public var optimizer: Optimizer = .adagrad
        public var bpreg: Float = 1.0
        /// The elu final activation's alpha (bpr-max only: cross-entropy uses the linear
        /// scores, the reference's elu_param 0).
        public var eluAlpha: Float = 0.5
        /// Extra negatives per mini-batch, drawn with probability popularity^sampleAlpha.
        public var negativeSamples = 0
        public var sampleAlpha: Float = 0
        public var seed: UInt64 = 42
        public init() {}
    }

    public let parameters: GRUParameters
    public var itemCount: Int { parameters.itemCount }
    public var hidden: Int { parameters.hidden }

    public init(parameters: GRUParameters) { self.parameters = parameters }

    public func makeScorer(slots: Int) -> any SessionScorer { Scorer(model: self, slots: slots) }

    struct Scorer: SessionScorer {
        let p: GRUParameters
        let cell: GRUCell
        var h: [Float]       // slots x H
        var rows: [Int32] = []
        var gatheredItems: [Int32] = []
        var gatheredH: [Float]
        var itemCount: Int { p.itemCount }

        init(model: GRU4RecModel, slots: Int) {
            p = model.parameters
            cell = GRUCell(hidden: p.hidden, capacity: slots)
            h = [Float](repeating: 0, count: slots * p.hidden)
            gatheredH = h
        }

        mutating func reset(slot: Int) {
            for k in 0..<p.hidden { h[slot * p.hidden + k] = 0 }
        }

        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            let hd = p.hidden, n = p.itemCount, slots = active.count
            rows.removeAll(keepingCapacity: true)
            gatheredItems.removeAll(keepingCapacity: true)
            for s in 0..<slots where active[s] && inputs[s] >= 0 { rows.append(Int32(s)); gatheredItems.append(inputs[s]) }
            let b = rows.count
            if b > 0 {
                for (j, s) in rows.enumerated() { for k in 0..<hd { gatheredH[j * hd + k] = h[Int(s) * hd + k] } }
                gatheredItems.withUnsafeBufferPointer { it in
                    gatheredH.withUnsafeBufferPointer { hp in cell.forward(p, inputs: it.baseAddress!, h: hp.baseAddress!, rows: b) }
                }
                for (j, s) in rows.enumerated() { for k in 0..<hd { h[Int(s) * hd + k] = cell.hNew[j * hd + k] } }
            }
            for s in 0..<slots where active[s] { (scores.baseAddress! + s * n).update(from: p.by, count: n) }
            h.withUnsafeBufferPointer { hp in
                gemm(false, true, slots, n, hd, 1, hp.baseAddress!, hd, p.wy, hd, 1, scores.baseAddress!, n)
            }
        }
    }
}
