import CIRNKernels
import Foundation
import IRNSupport

/// Adam's hyper-parameters (Kingma & Ba 2014, the paper's defaults).
public struct AdamConfig: Sendable, Hashable, Codable {
    public var learningRate: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// true: a row-sparse gradient updates only its rows' moments and parameters ("lazy"
    /// Adam, cheap for the N x 4H input weights). false: every row decays its moments and
    /// moves, as if untouched rows had a zero gradient (textbook Adam).
    public var lazySparse: Bool = true

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, lazySparse: Bool = true) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazySparse = lazySparse
    }
}

/// Adam with first and second moments per parameter. One `apply` is one step t; bias
/// correction uses the global t for every row (also for lazily updated rows).
public struct Adam: Sendable {
    public var config: AdamConfig
    public private(set) var step: Int = 0
    public private(set) var firstMoments: [[Float]]
    public private(set) var secondMoments: [[Float]]
    public let shape: NetworkShape

    public init(shape: NetworkShape, config: AdamConfig = AdamConfig()) {
        self.config = config
        self.shape = shape
        firstMoments = shape.parameterGroups.map { [Float](repeating: 0, count: $0.count(shape)) }
        secondMoments = firstMoments
    }

    /// parameters -= lr * m_hat / (sqrt(v_hat) + eps), descending the loss whose gradient is given.
    public mutating func apply(_ gradient: NetworkGradient, to parameters: inout NetworkParameters) {
        precondition(gradient.shape == parameters.shape, "gradient and parameters differ in shape")
        let k = beginStep()
        for g in shape.parameterGroups {
            let part = gradient.parts[g.rawValue]
            part.values.withUnsafeBufferPointer { values in
                part.rowIndices.withUnsafeBufferPointer { rows in
                    update(g, dense: part.isDense, rows: rows, values: values, step: k, parameters: &parameters)
                }
            }
        }
    }

    /// Starts one step (t += 1) and returns its constants. Then call `update` once per
    /// parameter group (a group not updated is as a zero row-sparse gradient). For gradients
    /// that are not a `NetworkGradient`, e.g. read in place from received frames.
    public mutating func beginStep() -> AdamStep {
        step += 1
        // Bias corrections in Double: beta^t underflows gracefully and stays exact for small t.
        return AdamStep(k: irn_adam_step(beta1: config.beta1, beta2: config.beta2, learning_rate: config.learningRate,
                                         c1: Float(1 - Foundation.pow(Double(config.beta1), Double(step))),
                                         c2: Float(1 - Foundation.pow(Double(config.beta2), Double(step))),
                                         epsilon: config.epsilon))
    }

    /// Applies `step` to group `g` with its gradient: dense (`values` covers the whole tensor)
    /// or row-sparse (`rows` strictly increasing, `values` those rows). The caller checks sizes.
    /// `rowSteps` (row-sparse, lazy only; one count >= 1 per row): a row whose gradient is the
    /// sum of k pushes it waited through at the actor (`--push-rows`) takes k steps of g / k
    /// (`irn_adam_update_moments`), so it moves about as far as if it had been sent each time.
    /// `rowSquareRatios` (with `rowSteps`; one value >= 1 per row): the row's mean squared
    /// gradient over those pushes over its squared mean, which the k sub-steps feed the second
    /// moment (`irn_adam_update_moments`) so that pushes whose gradients cancel do not shrink it.
    public mutating func update(_ g: ParameterGroup, dense: Bool, rows: UnsafeBufferPointer<Int32>,
                                values: UnsafeBufferPointer<Float>, rowSteps: UnsafeBufferPointer<Int32>? = nil,
                                rowSquareRatios: UnsafeBufferPointer<Float>? = nil,
                                step: AdamStep, parameters: inout NetworkParameters) {
        let w = g.dimensions(shape).width
        precondition(dense ? values.count == g.count(shape) : values.count == rows.count * w, "\(g.name): gradient size")
        precondition(rowSteps == nil || rowSteps!.count == rows.count, "\(g.name): one step count per row")
        precondition(rowSquareRatios == nil || (rowSteps != nil && rowSquareRatios!.count == rows.count),
                     "\(g.name): one square ratio per row, with step counts")
        var k = step.k
        let lazy = config.lazySparse
        parameters.tensors[g.rawValue].withUnsafeMutableBufferPointer { theta in
            firstMoments[g.rawValue].withUnsafeMutableBufferPointer { m in
                secondMoments[g.rawValue].withUnsafeMutableBufferPointer { v in
                    guard let tp = theta.baseAddress, let mp = m.baseAddress, let vp = v.baseAddress else { return }
                    if dense {
                        let gp = values.baseAddress!
                        Parallel.chunks(theta.count, minChunk: 1 << 16) { _, range in
                            let o = range.lowerBound
                            irn_adam_update(tp + o, mp + o, vp + o, gp + o, range.count, &k)
                        }
                    } else if lazy {
                        guard let gp = values.baseAddress, !rows.isEmpty else { return }
                        Parallel.chunks(rows.count, minChunk: max(1, (1 << 16) / max(w, 1))) { _, range in
                            for i in range {
                                let o = Int(rows[i]) * w
                                if let rowSteps {
                                    irn_adam_update_moments(tp + o, mp + o, vp + o, gp + i * w, w, UInt32(max(1, rowSteps[i])),
                                                            rowSquareRatios?[i] ?? 1, &k)
                                } else {
                                    irn_adam_update(tp + o, mp + o, vp + o, gp + i * w, w, &k)
                                }
                            }
                        }
                    } else {
                        // Textbook Adam: a row with zero gradient decays its moments and still moves.
                        var next = 0
                        for r in 0..<(theta.count / max(w, 1)) {
                            if next < rows.count && Int(rows[next]) == r {
                                irn_adam_update(tp + r * w, mp + r * w, vp + r * w, values.baseAddress! + next * w, w, &k)
                                next += 1
                            } else {
                                irn_adam_decay(tp + r * w, mp + r * w, vp + r * w, w, &k)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Moments with checkpoint names ("adam.m.<group>", "adam.v.<group>") and the step, so
    /// training can resume exactly.
    public func namedMoments() -> [(name: String, shape: [Int], values: [Float])] {
        var out: [(name: String, shape: [Int], values: [Float])] = []
        for g in shape.parameterGroups {
            let d = g.dimensions(shape)
            out.append(("adam.m.\(g.name)", [d.rows, d.width], firstMoments[g.rawValue]))
            out.append(("adam.v.\(g.name)", [d.rows, d.width], secondMoments[g.rawValue]))
        }
        return out
    }

    /// Restores moments and step written by `namedMoments`.
    public mutating func restore(step: Int, named: [String: [Float]]) throws {
        for g in shape.parameterGroups {
            guard let m = named["adam.m.\(g.name)"], let v = named["adam.v.\(g.name)"],
                  m.count == firstMoments[g.rawValue].count, v.count == secondMoments[g.rawValue].count else {
                throw IRNError("Adam state for \(g.name) is missing or has the wrong size")
            }
            firstMoments[g.rawValue] = m
            secondMoments[g.rawValue] = v
        }
        self.step = step
    }

}

/// The constants of one Adam step (from `Adam.beginStep()`).
public struct AdamStep: Sendable {
    let k: irn_adam_step
}
