import IRNSupport

/// The weights of GRU4Rec's one-layer GRU with one-hot input and its output layer, in one
/// block of memory. Layouts follow the published implementation: the input weights of an
/// item are one row of `wx` = [candidate | reset | update] (3H), `bh` the matching biases,
/// `wrz` (H x 2H) the recurrent weights of [reset | update], `wh` (H x H) those of the
/// candidate, `wy` (items x H) and `by` (items) the output layer.
///
/// Mutated only by one trainer; once wrapped in a model it is read-only and shared between
/// evaluation threads (hence `@unchecked Sendable`).
public final class GRUParameters: @unchecked Sendable {
    public let itemCount: Int
    public let hidden: Int
    public let storage: UnsafeMutablePointer<Float>
    public let count: Int
    public let wx, bh, wrz, wh, wy, by: UnsafeMutablePointer<Float>

    /// The tensors in storage order, with their shapes (for saving and for optimizers).
    public var tensors: [(name: String, pointer: UnsafeMutablePointer<Float>, rows: Int, cols: Int)] {
        [("wx", wx, itemCount, 3 * hidden), ("bh", bh, 1, 3 * hidden), ("wrz", wrz, hidden, 2 * hidden),
         ("wh", wh, hidden, hidden), ("wy", wy, itemCount, hidden), ("by", by, 1, itemCount)]
    }

    public init(itemCount: Int, hidden: Int) {
        self.itemCount = itemCount
        self.hidden = hidden
        let h = hidden, n = itemCount
        let sizes = [n * 3 * h, 3 * h, h * 2 * h, h * h, n * h, n]
        count = sizes.reduce(0, +)
        storage = .allocate(capacity: count)
        storage.initialize(repeating: 0, count: count)
        var p = storage
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for s in sizes { ptrs.append(p); p += s }
        (wx, bh, wrz, wh, wy, by) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5])
    }

    deinit { storage.deallocate() }

    /// GRU4Rec's initialisation: every weight block uniform in +-sqrt(6 / (rows + cols)) of
    /// its own (rows x cols) sub-matrix (each gate block of wx and wrz separately), biases 0.
    public static func initialised(itemCount: Int, hidden: Int, seed: UInt64) -> GRUParameters {
        let p = GRUParameters(itemCount: itemCount, hidden: hidden)
        var rng = RandomSource(seed: seed, stream: 0x6A0)
        let h = hidden, n = itemCount
        func fill(_ base: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int, fanIn: Int, fanOut: Int) {
            let sigma = (6.0 / Float(fanIn + fanOut)).squareRoot()
            for r in 0..<rows { for c in 0..<cols { base[r * stride + c] = (rng.nextFloat() * 2 - 1) * sigma } }
        }
        for g in 0..<3 { fill(p.wx + g * h, rows: n, cols: h, stride: 3 * h, fanIn: n, fanOut: h) }
        fill(p.wh, rows: h, cols: h, stride: h, fanIn: h, fanOut: h)
        for g in 0..<2 { fill(p.wrz + g * h, rows: h, cols: h, stride: 2 * h, fanIn: h, fanOut: h) }
        fill(p.wy, rows: n, cols: h, stride: h, fanIn: n, fanOut: h)
        return p
    }

    public func copy() -> GRUParameters {
        let c = GRUParameters(itemCount: itemCount, hidden: hidden)
        c.storage.update(from: storage, count: count)
        return c
    }

    /// All weights as one flat array (storage order) and back, for model files and tests.
    public var flat: [Float] { Array(UnsafeBufferPointer(start: storage, count: count)) }
    public func setFlat(_ a: [Float]) {
        precondition(a.count == count)
        a.withUnsafeBufferPointer { storage.update(from: $0.baseAddress!, count: count) }
    }
}
