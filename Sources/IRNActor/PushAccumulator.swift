import IRNNumerics
import IRNWire

/// How a push's gradient values travel (`irn-server --push-precision`).
public enum PushPrecision: String, Codable, Sendable, CaseIterable {
    /// Float32: exact.
    case fp32
    /// bfloat16 (`BF16`): half the bytes; the rounding error stays at the actor and is added to
    /// the next push (error feedback), so nothing is lost over time, only delayed.
    case bf16
}

/// Sums the gradients of several windows into one push (`--push-windows`) and keeps, per
/// tensor, what a bf16 push could not carry (the error-feedback residual, as in Deep Gradient
/// Compression). Invariant, checked by the tests: the sum of all parts taken plus the residual
/// equals the sum of all parts added (up to Float32 rounding of the additions).
///
/// Row-sparse parts stay row-sparse: a push carries the rows some window of it touched; the
/// residual of a row waits until a later window touches that row again.
public struct PushAccumulator {
    struct Slot {
        var name: String
        var shape: [Int]
        var sparse: Bool
        var sum: [Float]
        var touched: [Bool]
    }
    private var slots: [Slot] = []
    private var index: [String: Int] = [:]
    /// Windows added since the last `take`.
    public private(set) var windows = 0

    public init() {}

    /// Adds one window's gradient parts.
    public mutating func add(_ parts: [TensorPart]) {
        for p in parts {
            let k: Int
            if let i = index[p.name], slots[i].shape == p.shape, slots[i].sparse == p.isSparse {
                k = i
            } else {
                k = index[p.name] ?? slots.count
                let s = Slot(name: p.name, shape: p.shape, sparse: p.isSparse, sum: [Float](repeating: 0, count: p.denseCount),
                             touched: [Bool](repeating: false, count: p.isSparse ? p.shape[0] : 0))
                if k == slots.count { slots.append(s) } else { slots[k] = s }
                index[p.name] = k
            }
            // Moved out and back (never copied): the buffers are summed into in place.
            var sum = slots[k].sum, touched = slots[k].touched
            slots[k].sum = []; slots[k].touched = []
            sum.withUnsafeMutableBufferPointer { sum in
                p.values.withUnsafeBufferPointer { v in
                    guard let rows = p.rows else {
                        for i in 0..<v.count { sum[i] += v[i] }
                        return
                    }
                    let w = p.rowWidth
                    for (j, r) in rows.enumerated() {
                        touched[Int(r)] = true
                        let dst = Int(r) * w, src = j * w
                        for i in 0..<w { sum[dst + i] += v[src + i] }
                    }
                }
            }
            slots[k].sum = sum; slots[k].touched = touched
        }
        windows += 1
    }

    /// The accumulated gradient as wire parts (in the order first added), at `precision`:
    /// bf16 values are rounded here and the rounding error stays as the residual; fp32 leaves
    /// nothing behind. Starts the next push.
    public mutating func take(precision: PushPrecision) -> [TensorPart] {
        var out: [TensorPart] = []
        out.reserveCapacity(slots.count)
        for k in slots.indices {
            let (name, shape) = (slots[k].name, slots[k].shape)
            var sum = slots[k].sum, touched = slots[k].touched
            slots[k].sum = []; slots[k].touched = []
            defer { slots[k].sum = sum; slots[k].touched = touched }
            if !slots[k].sparse {
                out.append(.dense(name, shape: shape, values: Self.send(&sum, from: 0, count: sum.count, precision)))
                continue
            }
            let w = shape.dropFirst().reduce(1, *)
            var rows: [Int32] = []
            var values: [Float] = []
            for r in 0..<touched.count where touched[r] {
                rows.append(Int32(r))
                values.append(contentsOf: Self.send(&sum, from: r * w, count: w, precision))
                touched[r] = false
            }
            out.append(.rowSparse(name, shape: shape, rows: rows, values: values))
        }
        windows = 0
        return out
    }

    /// What is sent of `sum[from..<from+count]`; leaves the residual in its place.
    private static func send(_ sum: inout [Float], from: Int, count: Int, _ precision: PushPrecision) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, n in
            sum.withUnsafeMutableBufferPointer { sum in
                for i in 0..<count {
                    let x = sum[from + i]
                    let q = precision == .bf16 ? BF16.rounded(x) : x
                    out[i] = q
                    sum[from + i] = x - q
                }
            }
            n = count
        }
    }

    /// The residual of a part (dense layout), for tests and inspection.
    public func residual(_ name: String) -> [Float]? { index[name].map { slots[$0].sum } }
}
