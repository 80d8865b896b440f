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
    /// nothing behind. With `rowFraction` f < 1 (`--push-rows`), each matrix part carries only
    /// its ceil(f * rows) rows of largest L2 norm, as a row-sparse part (dense matrices too);
    /// the other rows stay whole in the residual and compete again at the next push (top-k
    /// sparsification with error feedback, by rows so the server's lazy Adam and its patches
    /// touch only those rows). Starts the next push.
    public mutating func take(precision: PushPrecision, rowFraction: Double = 1) -> [TensorPart] {
        var out: [TensorPart] = []
        out.reserveCapacity(slots.count)
        for k in slots.indices {
            let (name, shape) = (slots[k].name, slots[k].shape)
            var sum = slots[k].sum, touched = slots[k].touched
            slots[k].sum = []; slots[k].touched = []
            defer { slots[k].sum = sum; slots[k].touched = touched }
            let selective = rowFraction < 1 && shape.count == 2 && shape[0] > 1
            if !slots[k].sparse && !selective {
                out.append(.dense(name, shape: shape, values: Self.send(&sum, from: 0, count: sum.count, precision)))
                continue
            }
            let w = shape.dropFirst().reduce(1, *)
            var candidates = slots[k].sparse ? (0..<touched.count).filter { touched[$0] } : Array(0..<shape[0])
            if selective {
                let budget = max(1, Int((rowFraction * Double(shape[0])).rounded(.up)))
                candidates = Self.largestRows(sum, width: w, among: candidates, count: budget)
            }
            var rows: [Int32] = []
            var values: [Float] = []
            rows.reserveCapacity(candidates.count)
            values.reserveCapacity(candidates.count * w)
            for r in candidates {
                rows.append(Int32(r))
                values.append(contentsOf: Self.send(&sum, from: r * w, count: w, precision))
                // A sent row's residual is its rounding error only: it waits for the row's next gradient.
                if slots[k].sparse { touched[r] = false }
            }
            out.append(.rowSparse(name, shape: shape, rows: rows, values: values))
        }
        windows = 0
        return out
    }

    /// The `count` rows of `among` with the largest L2 norm in `sum` (all of them when there
    /// are no more), in increasing order; rows that are all zero are never chosen.
    static func largestRows(_ sum: [Float], width w: Int, among: [Int], count: Int) -> [Int] {
        var norms: [(row: Int, norm: Float)] = []
        norms.reserveCapacity(among.count)
        sum.withUnsafeBufferPointer { s in
            for r in among {
                var n: Float = 0
                for i in (r * w)..<(r * w + w) { n += s[i] * s[i] }
                if n > 0 { norms.append((r, n)) }
            }
        }
        guard norms.count > count else { return norms.map(\.row) }
        norms.sort { $0.norm > $1.norm || ($0.norm == $1.norm && $0.row < $1.row) }
        return norms.prefix(count).map(\.row).sorted()
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
