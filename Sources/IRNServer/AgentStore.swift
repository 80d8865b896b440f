import IRNAgents
import IRNNumerics
import IRNSupport
import IRNWire

/// The real model on the server: an agent's `ModelState` (parameters, target network, Adam)
/// behind the wire. `apply` takes one Adam step with a received gradient and reports what
/// moved: with lazy Adam a row-sparse gradient moves only its rows (so patches carry only
/// those rows), a dense one the whole tensor. Checkpoints are the model state's, so a resumed
/// server continues bit for bit.
public final class AgentStore: ParameterStore {
    public private(set) var model: ModelState
    public var config: AgentConfig { model.config }
    public var version: UInt64 { model.version }
    public var parameters: NetworkParameters { model.parameters }
    /// What the server evaluates and writes as its model: the weight average under
    /// `--average-weights`, else the parameters (actors always get the live weights).
    public var evaluationParameters: NetworkParameters { model.evaluationParameters }

    public init(config: AgentConfig) {
        model = ModelState(config: config)
    }

    /// `apply(views:)` for parts already in memory.
    public func apply(_ parts: [TensorPart]) throws -> [String: WeightChange] {
        try apply(views: parts.map(TensorPartView.init))
    }


    /// Adam reads the gradient where it was received: no copy of the (dense, N x H) policy
    /// gradient on the server's one busy thread. A part's `rowSteps` (`--push-rows`) make a
    /// row that waited k pushes at the actor take k Adam steps (`Adam.update`).
    public func apply(views: [TensorPartView]) throws -> [String: WeightChange] {
        let shape = config.shape
        var byGroup: [TensorPartView?] = Array(repeating: nil, count: shape.parameterGroups.count)
        for p in views {
            guard let g = ParameterGroup(name: p.name), g.rawValue < byGroup.count else {
                throw ModelRejection("part_unknown", "gradient part \(p.name) is not a parameter of this network (head \(shape.head))")
            }
            let d = g.dimensions(shape)
            guard p.shape == [d.rows, d.width] else {
                throw ModelRejection("part_shape", "gradient part \(p.name) has shape \(p.shape), expected \([d.rows, d.width])")
            }
            guard byGroup[g.rawValue] == nil else { throw ModelRejection("part_duplicate", "gradient part \(p.name) appears twice") }
            // Adam writes the rows listed: never trust them unchecked (cheap: O(rows)).
            try p.validate()
            byGroup[g.rawValue] = p
        }
        if let missing = byGroup.indices.first(where: { byGroup[$0] == nil }) {
            throw ModelRejection("part_missing", "gradient lacks part \(shape.parameterGroups[missing].name)")
        }
        var changed: [String: WeightChange] = [:]
        let lazy = config.adam.lazySparse
        model.apply { optimizer, step, parameters in
            for g in shape.parameterGroups {
                let p = byGroup[g.rawValue]!
                let rows = p.rows ?? []
                p.withValues { values in
                    // Step counts and square ratios come with row-sparse parts only (the wire's flags).
                    rows.withUnsafeBufferPointer { r in
                        withBuffer(p.rowSteps) { c in
                            withBuffer(p.rowSquareRatios) { q in
                                optimizer.update(g, dense: !p.isSparse, rows: r, values: values, rowSteps: c, rowSquareRatios: q,
                                                 step: step, parameters: &parameters)
                            }
                        }
                    }
                }
                if !p.isSparse || !lazy {
                    changed[g.name] = .all
                } else if !rows.isEmpty {
                    changed[g.name] = .rows(rows)
                }
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

    public func target() -> [TensorPart] { model.target.wireParts }
    public func refreshTarget() { model.refreshTarget() }
    public func checkpointTensors() -> [String: SafetensorsTensor] { model.checkpointTensors() }
    public func restore(from t: [String: SafetensorsTensor]) throws { try model.restore(from: t) }
}

/// `body` with a buffer over `array`, or with nil when there is no array.
private func withBuffer<T, R>(_ array: [T]?, _ body: (UnsafeBufferPointer<T>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0) }
}
