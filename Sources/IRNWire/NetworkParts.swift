import IRNNumerics
import IRNSupport

/// Adapters between the numerics' types and the wire's `TensorPart`s (matched by the
/// parameter groups' checkpoint names). Sparse gradients stay sparse on the wire.
extension TensorPart {
    /// A gradient tensor of `group` as it travels: dense, or only its non-zero rows.
    public init(_ g: GradientTensor, group: ParameterGroup) {
        let shape = [g.rows, g.width]
        self = g.isDense ? .dense(group.name, shape: shape, values: g.values)
                         : .rowSparse(group.name, shape: shape, rows: g.rowIndices, values: g.values)
    }
}

extension NetworkGradient {
    /// Every part on the wire, shape [rows, width] (the gradient layout, vectors as one row).
    public var wireParts: [TensorPart] {
        shape.parameterGroups.map { TensorPart(parts[$0.rawValue], group: $0) }
    }
}

extension NetworkParameters {
    /// Every tensor, dense, shape [rows, width] (the same layout as gradients).
    public var wireParts: [TensorPart] {
        shape.parameterGroups.map { g in
            let d = g.dimensions(shape)
            return .dense(g.name, shape: [d.rows, d.width], values: tensors[g.rawValue])
        }
    }

    /// The tensors of `group` restricted to `rows` (current values), as a row-sparse part.
    public func wirePart(_ g: ParameterGroup, rows: [Int32]?) -> TensorPart {
        let d = g.dimensions(shape)
        guard let rows else { return .dense(g.name, shape: [d.rows, d.width], values: tensors[g.rawValue]) }
        var values = [Float](repeating: 0, count: rows.count * d.width)
        tensors[g.rawValue].withUnsafeBufferPointer { src in
            values.withUnsafeMutableBufferPointer { dst in
                for (i, r) in rows.enumerated() {
                    (dst.baseAddress! + i * d.width).update(from: src.baseAddress! + Int(r) * d.width, count: d.width)
                }
            }
        }
        return .rowSparse(g.name, shape: [d.rows, d.width], rows: rows, values: values)
    }

    /// Parameters from dense wire parts (e.g. a replica), checking every name and shape.
    public init(shape: NetworkShape, wireParts: [String: TensorPart]) throws {
        self.init(shape: shape)
        try assign(from: wireParts, changes: nil)
    }

    /// Copies (into storage this value owns, never sharing the replica's buffers) the
    /// tensors or rows listed in `changes` (nil: everything) from dense wire parts.
    public mutating func assign(from parts: [String: TensorPart], changes: [String: WeightChange]?) throws {
        for g in shape.parameterGroups {
            let change: WeightChange
            if let changes {
                guard let c = changes[g.name] else { continue }
                change = c
            } else {
                change = .all
            }
            guard let p = parts[g.name] else { throw IRNError("the weights lack \(g.name)") }
            let d = g.dimensions(shape)
            guard p.shape == [d.rows, d.width], p.values.count == d.rows * d.width else {
                throw IRNError("weights \(g.name) have shape \(p.shape), this network needs \([d.rows, d.width])")
            }
            p.values.withUnsafeBufferPointer { src in
                tensors[g.rawValue].withUnsafeMutableBufferPointer { dst in
                    switch change {
                    case .all:
                        dst.baseAddress!.update(from: src.baseAddress!, count: dst.count)
                    case .rows(let rows):
                        for r in rows {
                            (dst.baseAddress! + Int(r) * d.width).update(from: src.baseAddress! + Int(r) * d.width, count: d.width)
                        }
                    }
                }
            }
        }
    }
}
