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
        try apply(views: parts.map(TensorPartView.init))
    }

    /// Adam reads the gradient where it was received: no copy of the (dense, N x H) policy
    /// gradient on the server's one busy thread.
    public func apply(views: [TensorPartView]) throws -> [String: WeightChange] {
        let shape = config.shape
        var byGroup: [TensorPartView?] = Array(repeating: nil, count: shape.parameterGroups.count)
        for p in views {
            guard let g = ParameterGroup(name: p.name), g.rawValue < byGroup.count else {
                throw IRNError("gradient part \(p.name) is not a parameter of this network (head \(shape.head))")
            }
            let d = g.dimensions(shape)
            guard p.shape == [d.rows, d.width] else {
                throw IRNError("gradient part \(p.name) has shape \(p.shape), expected \([d.rows, d.width])")
            }
            guard byGroup[g.rawValue] == nil else { throw IRNError("gradient part \(p.name) appears twice") }
            // Adam writes the rows listed: never trust them unchecked (cheap: O(rows)).
            try p.validate()
            byGroup[g.rawValue] = p
        }
        if let missing = byGroup.indices.first(where: { byGroup[$0] == nil }) {
            throw IRNError("gradient lacks part \(shape.parameterGroups[missing].name)")
        }
        let step = optimizer.beginStep()
        var changed: [String: WeightChange] = [:]
        for g in shape.parameterGroups {
            let p = byGroup[g.rawValue]!
            let rows = p.rows ?? []
            p.withValues { values in
                rows.withUnsafeBufferPointer { r in
                    optimizer.update(g, dense: !p.isSparse, rows: r, values: values, step: step, parameters: &parameters)
                }
            }
            if !p.isSparse || !config.adam.lazySparse {
                changed[g.name] = .all
            } else if !rows.isEmpty {
                changed[g.name] = .rows(rows)
            }
        }
        version += 1
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
