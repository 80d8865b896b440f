/// One named piece of parameters or gradient, as it travels between processes or goes to a
/// file: dense (all values) or row-sparse (strictly increasing row indices and those rows
/// only). The wire (IRNWire) checks and encodes it; the network's parameters and gradients
/// convert to and from it by their groups' names.
public struct TensorPart: Sendable, Equatable {
    /// Parameter name, e.g. "lstm.wx" (on the wire at most `WireLimits.maxStringBytes` UTF-8 bytes).
    public var name: String
    /// Full logical shape (rank 1...4). For row-sparse parts shape[0] is the total row count.
    public var shape: [Int]
    /// nil: dense, `values.count == product(shape)`. Otherwise the rows present, strictly
    /// increasing, each in 0..<shape[0], and `values.count == rows.count * rowWidth`.
    public var rows: [Int32]?
    /// Row-major Float32 values.
    public var values: [Float]

    public init(name: String, shape: [Int], rows: [Int32]? = nil, values: [Float]) {
        self.name = name
        self.shape = shape
        self.rows = rows
        self.values = values
    }

    public static func dense(_ name: String, shape: [Int], values: [Float]) -> TensorPart {
        TensorPart(name: name, shape: shape, rows: nil, values: values)
    }

    public static func rowSparse(_ name: String, shape: [Int], rows: [Int32], values: [Float]) -> TensorPart {
        TensorPart(name: name, shape: shape, rows: rows, values: values)
    }

    public var isSparse: Bool { rows != nil }
    /// Elements per row (product of shape[1...]; 1 for a vector).
    public var rowWidth: Int { shape.dropFirst().reduce(1, *) }
    /// Elements of the full (dense) tensor.
    public var denseCount: Int { shape.reduce(1, *) }
}
