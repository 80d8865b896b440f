import IRNAgents
import IRNNumerics
import IRNSupport
import IRNWire

/// The real model on the server: the network's parameters, Adam and the target network.
/// `apply` decodes a wire gradient, takes one Adam step and reports what moved: with lazy
/// Adam a row-sparse gradient moves only its rows (so patches carry only those rows), a dense
/// one the whole tensor. Checkpoints hold weights, target, Adam moments and step, so a
/// resumed server continues bit for bit.
public final class AgentStore: ParameterStore {
    public let config: AgentConfig
    public private(set) var version: UInt64 = 0
    public private(set) var parameters: NetworkParameters
    public private(set) var targetParameters: NetworkParameters
    public private(set) var optimizer: Adam

    public init(config: AgentConfig) {
        self.config = config
        parameters = config.initialParameters()
        targetParameters = parameters
        optimizer = Adam(shape: config.shape, config: config.adam)
    }

    public func apply(_ parts: [TensorPart]) throws -> [String: WeightChange] {
        let g = try NetworkGradient(shape: config.shape, wireParts: parts)
        optimizer.apply(g, to: &parameters)
        version += 1
        var changed: [String: WeightChange] = [:]
        for group in config.shape.parameterGroups {
            let t = g[group]
            if t.isDense || !config.adam.lazySparse {
                changed[group.name] = .all
            } else if !t.rowIndices.isEmpty {
                changed[group.name] = .rows(t.rowIndices)
            }
        }
        return changed
    }

    public func weights(_ selection: [String: WeightChange]?) -> [TensorPart] {
        guard let selection else { return parameters.wireParts }
        return config.shape.parameterGroups.compactMap { g in
            switch selection[g.name] {
            case nil: return nil
            case .all?: return parameters.wirePart(g, rows: nil)
            case .rows(let r)?: return parameters.wirePart(g, rows: r)
            }
        }
    }

    public func target() -> [TensorPart] { targetParameters.wireParts }
    public func refreshTarget() { targetParameters = parameters }

    public func checkpointTensors() -> [String: SafetensorsTensor] {
        var t: [String: SafetensorsTensor] = [:]
        for g in config.shape.parameterGroups {
            let s = g.tensorShape(config.shape)
            t[g.name] = SafetensorsTensor(floats: parameters[g], shape: s)
            t["target.\(g.name)"] = SafetensorsTensor(floats: targetParameters[g], shape: s)
        }
        for m in optimizer.namedMoments() { t[m.name] = SafetensorsTensor(floats: m.values, shape: m.shape) }
        t["adam.step"] = SafetensorsTensor(int64s: [Int64(optimizer.step)], shape: [1])
        t["version"] = SafetensorsTensor(int64s: [Int64(version)], shape: [1])
        return t
    }

    public func restore(from t: [String: SafetensorsTensor]) throws {
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
        var moments: [String: [Float]] = [:]
        for (k, v) in t where k.hasPrefix("adam.m.") || k.hasPrefix("adam.v.") { moments[k] = try v.floats() }
        guard let step = try t["adam.step"]?.int64s().first, let ver = try t["version"]?.int64s().first, step >= 0, ver >= 0 else {
            throw IRNError("checkpoint lacks adam.step / version")
        }
        var adam = Adam(shape: config.shape, config: config.adam)
        try adam.restore(step: Int(step), named: moments)
        parameters = p
        targetParameters = tp
        optimizer = adam
        version = UInt64(ver)
    }
}
