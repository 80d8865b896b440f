import IRNSupport

extension ParameterGroup {
    /// The group with checkpoint name `name`.
    public init?(name: String) {
        guard let g = ParameterGroup.allCases.first(where: { $0.name == name }) else { return nil }
        self = g
    }
}

extension NetworkParameters {
    /// Every tensor, dense, under its checkpoint name.
    public var namedParts: [TensorPart] {
        shape.parameterGroups.map { TensorPart(name: $0.name, shape: $0.tensorShape(shape), rows: nil, values: tensors[$0.rawValue]) }
    }

    /// Overwrites the tensors or rows given (dense parts replace a tensor, row-sparse parts
    /// replace those rows): how an actor takes in the server's updates.
    public mutating func assign(_ parts: [TensorPart]) throws {
        for part in parts {
            guard let g = ParameterGroup(name: part.name) else { throw IRNError("unknown parameter \(part.name)") }
            guard shape.parameterGroups.contains(g) else { throw IRNError("parameter \(part.name) belongs to the repeat head; this network's head is \(shape.head)") }
            guard part.shape == g.tensorShape(shape) else { throw IRNError("parameter \(part.name) has shape \(part.shape), expected \(g.tensorShape(shape))") }
            let d = g.dimensions(shape)
            if let rows = part.rows {
                guard d.rows > 1 else { throw IRNError("parameter \(part.name) must be sent dense") }
                guard part.values.count == rows.count * d.width else { throw IRNError("parameter \(part.name): \(part.values.count) values for \(rows.count) rows") }
                for (i, r) in rows.enumerated() {
                    guard r >= 0 && Int(r) < d.rows else { throw IRNError("parameter \(part.name): row \(r) out of range") }
                    for j in 0..<d.width { tensors[g.rawValue][Int(r) * d.width + j] = part.values[i * d.width + j] }
                }
            } else {
                guard part.values.count == d.rows * d.width else { throw IRNError("parameter \(part.name): \(part.values.count) values, expected \(d.rows * d.width)") }
                tensors[g.rawValue] = part.values
            }
        }
    }
}

extension NetworkGradient {
    /// Every part under its parameter's name, row-sparse where the gradient is.
    public var namedParts: [TensorPart] {
        shape.parameterGroups.map { g in
            let p = parts[g.rawValue]
            return TensorPart(name: g.name, shape: g.tensorShape(shape), rows: p.isDense ? nil : p.rowIndices, values: p.values)
        }
    }

    /// Builds a gradient from named parts (missing parts are zero), checking names, shapes,
    /// row order and sizes.
    public init(shape: NetworkShape, namedParts: [TensorPart]) throws {
        self.init(shape: shape)
        for part in namedParts {
            guard let g = ParameterGroup(name: part.name) else { throw IRNError("unknown gradient part \(part.name)") }
            guard shape.parameterGroups.contains(g) else { throw IRNError("gradient part \(part.name) belongs to the repeat head; this network's head is \(shape.head)") }
            guard part.shape == g.tensorShape(shape) else { throw IRNError("gradient part \(part.name) has shape \(part.shape), expected \(g.tensorShape(shape))") }
            let d = g.dimensions(shape)
            if let rows = part.rows {
                guard d.width * rows.count == part.values.count else { throw IRNError("gradient part \(part.name): \(part.values.count) values for \(rows.count) rows") }
                for i in rows.indices where rows[i] < 0 || Int(rows[i]) >= d.rows || (i > 0 && rows[i - 1] >= rows[i]) {
                    throw IRNError("gradient part \(part.name): rows must be strictly increasing in 0..<\(d.rows)")
                }
                // Vectors other than the policy bias are one row in our layout: always dense.
                guard d.rows > 1 else { throw IRNError("gradient part \(part.name) must be dense") }
                parts[g.rawValue] = GradientTensor(rows: d.rows, width: d.width, layout: .rowSparse, rowIndices: rows, values: part.values)
            } else {
                guard part.values.count == d.rows * d.width else { throw IRNError("gradient part \(part.name): \(part.values.count) values, expected \(d.rows * d.width)") }
                parts[g.rawValue] = GradientTensor(rows: d.rows, width: d.width, layout: .dense, rowIndices: [], values: part.values)
            }
        }
    }
}
