import IRNNumerics
import IRNSupport

/// What training owns besides the data: the parameters theta, the frozen target network
/// theta^- (the imagination network), Adam and the count of applied updates. The
/// single-process `Agent` and the cluster's server keep theirs in this one type, so both
/// apply, refresh, checkpoint and resume the same way.
public struct ModelState {
    public let config: AgentConfig
    public private(set) var parameters: NetworkParameters
    public private(set) var target: NetworkParameters
    public private(set) var optimizer: Adam
    /// Gradient applications so far (the weight version in the cluster).
    public private(set) var version: UInt64 = 0
    /// The moving average of the parameters (`--average-weights`), updated after every
    /// step; nil without the flag.
    public private(set) var averaged: NetworkParameters?

    /// The weights to evaluate, save and serve: the average when kept, else the parameters.
    public var evaluationParameters: NetworkParameters { averaged ?? parameters }

    public init(config: AgentConfig) {
        self.config = config
        parameters = config.initialParameters()
        target = parameters
        optimizer = Adam(shape: config.shape, config: config.adam)
        averaged = config.weightAverage == nil ? nil : parameters
    }

    /// The decay of the step that makes version t: min(decay, (1 + t) / (10 + t)), so the
    /// first steps' averages follow the weights (the initialisation is forgotten quickly).
    public static func averageDecay(_ decay: Float, version t: UInt64) -> Float {
        min(decay, Float(1 + Double(t)) / Float(10 + Double(t)))
    }

    /// avg <- d avg + (1 - d) theta, over every tensor (O(parameters) per step).
    private mutating func updateAverage() {
        guard let decay = config.weightAverage, var avg = averaged else { return }
        averaged = nil  // keep avg's storage unique: updated in place
        let d = Self.averageDecay(decay, version: version)
        for i in avg.tensors.indices {
            avg.tensors[i].withUnsafeMutableBufferPointer { a in
                parameters.tensors[i].withUnsafeBufferPointer { p in
                    for j in a.indices { a[j] = d * a[j] + (1 - d) * p[j] }
                }
            }
        }
        averaged = avg
    }

    /// One Adam step with a gradient computed in this process.
    public mutating func apply(_ g: NetworkGradient) {
        optimizer.apply(g, to: &parameters)
        version += 1
        updateAverage()
    }

    /// One Adam step with a gradient given part by part (e.g. read in place from received
    /// frames): `update` is called once per parameter group with Adam's step constants.
    public mutating func apply(by update: (inout Adam, AdamStep, inout NetworkParameters) throws -> Void) rethrows {
        let step = optimizer.beginStep()
        try update(&optimizer, step, &parameters)
        version += 1
        updateAverage()
    }

    /// theta^- <- theta.
    public mutating func refreshTarget() { target = parameters }

    /// Replaces the parameters (e.g. a loaded model); the target follows.
    public mutating func load(_ p: NetworkParameters) throws {
        guard p.shape == config.shape else {
            throw IRNError("model has \(p.shape.items) items x \(p.shape.hidden) units, config \(config.items) x \(config.hidden)")
        }
        parameters = p
        target = p
        if averaged != nil { averaged = p }
    }

    /// Weights, target, Adam moments and step, version: all a resumed run needs to continue
    /// bit for bit.
    public func checkpointTensors() -> [String: SafetensorsTensor] {
        var t: [String: SafetensorsTensor] = [:]
        for g in config.shape.parameterGroups {
            let s = g.tensorShape(config.shape)
            t[g.name] = SafetensorsTensor(floats: parameters[g], shape: s)
            t["target.\(g.name)"] = SafetensorsTensor(floats: target[g], shape: s)
            if let a = averaged { t["average.\(g.name)"] = SafetensorsTensor(floats: a[g], shape: s) }
        }
        for m in optimizer.namedMoments() { t[m.name] = SafetensorsTensor(floats: m.values, shape: m.shape) }
        t["adam.step"] = SafetensorsTensor(int64s: [Int64(optimizer.step)], shape: [1])
        t["version"] = SafetensorsTensor(int64s: [Int64(version)], shape: [1])
        return t
    }

    /// Restores what `checkpointTensors` wrote; throws, changing nothing, on a mismatch.
    public mutating func restore(from t: [String: SafetensorsTensor]) throws {
        func named(_ prefix: String) throws -> [String: (shape: [Int], values: [Float])] {
            var out: [String: (shape: [Int], values: [Float])] = [:]
            for g in config.shape.parameterGroups {
                guard let x = t[prefix + g.name] else { throw IRNError("checkpoint lacks \(prefix + g.name) (another algorithm, head or size?)") }
                out[g.name] = (x.shape, try x.floats())
            }
            return out
        }
        let p = try NetworkParameters(shape: config.shape, named: try named(""))
        let tp = try NetworkParameters(shape: config.shape, named: try named("target."))
        let avg = config.weightAverage == nil ? nil : try NetworkParameters(shape: config.shape, named: try named("average."))
        var moments: [String: [Float]] = [:]
        for (k, v) in t where k.hasPrefix("adam.m.") || k.hasPrefix("adam.v.") { moments[k] = try v.floats() }
        guard let step = try t["adam.step"]?.int64s().first, let ver = try t["version"]?.int64s().first, step >= 0, ver >= 0 else {
            throw IRNError("checkpoint lacks adam.step / version")
        }
        var adam = Adam(shape: config.shape, config: config.adam)
        try adam.restore(step: Int(step), named: moments)
        parameters = p
        target = tp
        averaged = avg
        optimizer = adam
        version = UInt64(ver)
    }
}
