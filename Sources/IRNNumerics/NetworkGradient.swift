/// The gradient of one parameter tensor: either dense, or row-sparse (only the listed rows
/// are non-zero). Input weights are always row-sparse (only the items fed have rows); the
/// policy head is row-sparse when only single logits got an error.
public struct GradientTensor: Sendable, Equatable {
    public enum Layout: UInt8, Sendable { case dense = 0, rowSparse = 1 }

    public let rows: Int
    public let width: Int
    public private(set) var layout: Layout
    /// Row indices, strictly increasing (row-sparse only; empty when dense).
    public private(set) var rowIndices: [Int32]
    /// Dense: rows x width. Row-sparse: rowIndices.count x width, in the order of rowIndices.
    public var values: [Float]

    /// An all-zero dense gradient.
    public static func dense(rows: Int, width: Int) -> GradientTensor {
        GradientTensor(rows: rows, width: width, layout: .dense, rowIndices: [], values: [Float](repeating: 0, count: rows * width))
    }

    /// An empty (all-zero) row-sparse gradient.
    public static func sparse(rows: Int, width: Int) -> GradientTensor {
        GradientTensor(rows: rows, width: width, layout: .rowSparse, rowIndices: [], values: [])
    }

    /// A row-sparse gradient from rows in any order (duplicates are summed).
    public init(rows: Int, width: Int, rowIndices idx: [Int32], values v: [Float]) {
        precondition(v.count == idx.count * width, "row-sparse values must hold rowIndices.count x width")
        self.rows = rows
        self.width = width
        self.layout = .rowSparse
        var order = Array(idx.indices)
        order.sort { idx[$0] < idx[$1] }
        var outIdx: [Int32] = []
        var outVal: [Float] = []
        outIdx.reserveCapacity(idx.count)
        outVal.reserveCapacity(v.count)
        for o in order {
            let r = idx[o]
            precondition(r >= 0 && Int(r) < rows, "row index \(r) out of range 0..<\(rows)")
            if outIdx.last != r {
                outIdx.append(r)
                outVal.append(contentsOf: v[(o * width)..<((o + 1) * width)])
            } else {
                let base = outVal.count - width
                for j in 0..<width { outVal[base + j] += v[o * width + j] }
            }
        }
        self.rowIndices = outIdx
        self.values = outVal
    }

    /// Wraps raw parts, e.g. as decoded from the wire (validated).
    public init(rows: Int, width: Int, layout: Layout, rowIndices: [Int32], values: [Float]) {
        switch layout {
        case .dense:
            precondition(rowIndices.isEmpty && values.count == rows * width, "dense gradient must hold rows x width values")
        case .rowSparse:
            precondition(values.count == rowIndices.count * width, "row-sparse values must hold rowIndices.count x width")
            for i in rowIndices.indices {
                precondition(rowIndices[i] >= 0 && Int(rowIndices[i]) < rows, "row index out of range")
                precondition(i == 0 || rowIndices[i - 1] < rowIndices[i], "row indices must be strictly increasing")
            }
        }
        self.rows = rows
        self.width = width
        self.layout = layout
        self.rowIndices = rowIndices
        self.values = values
    }

    public var isDense: Bool { layout == .dense }

    /// Number of stored scalars.
    public var storedCount: Int { values.count }

    /// The full rows x width matrix.
    public func toDense() -> [Float] {
        if layout == .dense { return values }
        var out = [Float](repeating: 0, count: rows * width)
        for (i, r) in rowIndices.enumerated() {
            for j in 0..<width { out[Int(r) * width + j] = values[i * width + j] }
        }
        return out
    }

    /// Sets to zero, keeping the layout given and the storage capacity (for reuse).
    public mutating func reset(layout newLayout: Layout) {
        layout = newLayout
        rowIndices.removeAll(keepingCapacity: true)
        if newLayout == .dense {
            if values.count == rows * width {
                values.withUnsafeMutableBufferPointer { p in p.update(repeating: 0) }
            } else {
                values.removeAll(keepingCapacity: true)
                values.append(contentsOf: repeatElement(0, count: rows * width))
            }
        } else {
            values.removeAll(keepingCapacity: true)
        }
    }

    /// Makes the tensor dense with the rows x width values at `p` (storage reused).
    public mutating func assignDense(_ p: UnsafePointer<Float>) {
        layout = .dense
        rowIndices.removeAll(keepingCapacity: true)
        let n = rows * width
        if values.count != n {
            values.removeAll(keepingCapacity: true)
            values.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        } else {
            values.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p, count: n) }
        }
    }

    /// Appends one row to a row-sparse gradient (row must exceed the last one).
    public mutating func appendRow(_ r: Int32, _ v: UnsafePointer<Float>) {
        precondition(layout == .rowSparse && (rowIndices.last ?? -1) < r)
        rowIndices.append(r)
        values.append(contentsOf: UnsafeBufferPointer(start: v, count: width))
    }
}

/// The gradient of the whole network: one `GradientTensor` per `ParameterGroup`.
public struct NetworkGradient: Sendable, Equatable {
    public let shape: NetworkShape
    public var parts: [GradientTensor]

    /// All zero: row-sparse for the input weights, policy weights and policy bias, dense
    /// elsewhere (the repeat head's gate included).
    public init(shape: NetworkShape) {
        self.shape = shape
        parts = shape.parameterGroups.map { g in
            let d = g.dimensions(shape)
            switch g {
            case .inputWeights, .policyWeights, .policyBias: return .sparse(rows: d.rows, width: d.width)
            default: return .dense(rows: d.rows, width: d.width)
            }
        }
    }

    public init(shape: NetworkShape, parts: [GradientTensor]) {
        precondition(parts.count == shape.parameterGroups.count, "gradient has \(parts.count) parts, the network \(shape.parameterGroups.count)")
        for g in shape.parameterGroups {
            let d = g.dimensions(shape)
            precondition(parts[g.rawValue].rows == d.rows && parts[g.rawValue].width == d.width, "gradient part \(g.name) has the wrong shape")
        }
        self.shape = shape
        self.parts = parts
    }

    public subscript(_ g: ParameterGroup) -> GradientTensor {
        get { parts[g.rawValue] }
        set { parts[g.rawValue] = newValue }
    }
}
