import IRNNumerics

/// A received tensor part whose values are read where they arrived (a frame in libzmq's
/// buffer) instead of being copied out first: the server's Adam step reads gradients this way.
/// Valid only while the frames it came from are alive; checked like `TensorPart` (shape,
/// strictly increasing rows, value count, every value finite) before anyone sees it.
public struct TensorPartView {
    public let name: String
    public let shape: [Int]
    /// nil: dense. Otherwise the rows present, strictly increasing.
    public let rows: [Int32]?
    /// One count per row (row-sparse gradients under `--push-rows`): the pushes the row's
    /// gradient waited through at the actor, which the server's Adam takes as that many steps.
    /// nil: one each.
    public internal(set) var rowSteps: [Int32]?
    /// With `rowSteps` (`--deferred-rows moments`): one ratio >= 1 per row, the row's mean
    /// squared gradient over those pushes over its squared mean. nil: 1 each.
    public internal(set) var rowSquareRatios: [Float]?
    private let storage: Storage

    enum Storage {
        case borrowed(UnsafeBufferPointer<Float>)
        // A frame whose bytes are not 4-byte aligned cannot be read as floats in place.
        case owned([Float])
    }

    /// A view of a part already in memory (no copy: the array is shared).
    public init(_ part: TensorPart) {
        self.init(name: part.name, shape: part.shape, rows: part.rows, storage: .owned(part.values))
    }

    init(name: String, shape: [Int], rows: [Int32]?, storage: Storage) {
        self.name = name
        self.shape = shape
        self.rows = rows
        self.storage = storage
    }

    public var isSparse: Bool { rows != nil }
    public var rowWidth: Int { shape.dropFirst().reduce(1, *) }
    public var valueCount: Int {
        switch storage {
        case .borrowed(let b): return b.count
        case .owned(let a): return a.count
        }
    }

    /// The checks the decoder runs (shape, rows strictly increasing and in range, value count),
    /// for views made from parts that did not come through it.
    public func validate() throws(WireError) {
        try TensorPart.validate(name: name, shape: shape, rows: rows, valueCount: valueCount)
    }

    /// The values, row-major, valid inside `body` only.
    public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch storage {
        case .borrowed(let b): return try body(b)
        case .owned(let a): return try a.withUnsafeBufferPointer(body)
        }
    }

    /// An owned copy (what stores that only take `TensorPart`s get).
    public var part: TensorPart {
        TensorPart(name: name, shape: shape, rows: rows, values: withValues { Array($0) })
    }
}
