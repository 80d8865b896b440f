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

/// `--deferred-rows`: what the server's Adam does with a row that waited k pushes at the actor:
/// k steps of the mean gradient whose second-moment input is the row's mean squared gradient
/// over the k pushes (`moments`: the actor sends counts and square ratios), k steps of the mean
/// with its square as that input (`steps`: counts), or one step of the sum (`once`).
public enum DeferredRows: String, Sendable, CaseIterable {
    case moments, steps, once
}

/// `--push-rows-scope`: which matrices a row budget applies to (all, or only the item-indexed).
public enum PushRowsScope: String, Sendable, CaseIterable {
    case all, items

    /// `PushAccumulator.take`'s minRows: matrices with fewer rows travel whole.
    public func minRows(items: Int) -> Int { self == .items ? items : 2 }
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
        /// Sparse parts: rows with a residual waiting (touched since last sent).
        var touched: [Bool]
        /// Sparse parts: rows touched since the last push (`take`).
        var fresh: [Bool]
        /// Under a row budget: per row, the pushes its waiting gradient spans (`Push.rowSteps`).
        var pending: [Int32] = []
        /// `RowRank.scaled`: per row, the squared norm of its gradient since the last push, and
        /// a running mean of it over pushes (the actor's stand-in for Adam's second moment).
        var freshSquares: [Float] = []
        var meanSquares: [Float] = []
        /// `squareRatios`: per row, the sum over its waiting pushes of each push's squared norm.
        var pendingSquares: [Float] = []
    }

    /// Which rows a row budget sends.
    public enum RowRank: String, Sendable, CaseIterable {
        /// The largest L2 norm of the waiting gradient (Deep Gradient Compression's choice, made
        /// for SGD, where a row moves in proportion to its gradient).
        case norm
        /// The largest norm relative to the row's usual gradient size per push (a running mean
        /// of its squared norm): Adam moves a row by about the same amount per step whatever
        /// its gradient's scale, so a rare item's small but consistent gradient counts as much
        /// as a frequent item's large one.
        case scaled
    }

    /// How a row budget ranks rows (`--push-rows-rank`); set before adding a push's windows.
    public var rank: RowRank = .norm
    /// Under a row budget, also give each sent row its square ratio (`Push.rowSquareRatios`,
    /// `--deferred-rows moments`); set before adding a push's windows.
    public var squareRatios = false
    /// Weight of the previous running mean of a row's squared norm per push (`.scaled`).
    static let meanSquareDecay: Float = 0.99

    /// What one push carries.
    public struct Push: Equatable {
        public var parts: [TensorPart]
        /// Under a row budget (`rowFraction` < 1): for each matrix part (all row-sparse then), one
        /// count per row sent: the pushes whose gradient that row's values sum (pushes in which a
        /// window touched it, since it was last sent). Empty otherwise (one each).
        public var rowSteps: [String: [Int32]] = [:]
        /// With `squareRatios`, per matrix part one value per row sent: k times the sum of the
        /// squared norms of the row's gradient in each of its k pushes, over the squared norm of
        /// their sum (>= 1; 1 when k = 1 or the pushes agree): how much the mean's square
        /// understates the mean square, which Adam's second moment needs.
        public var rowSquareRatios: [String: [Float]] = [:]

        public init(parts: [TensorPart], rowSteps: [String: [Int32]] = [:], rowSquareRatios: [String: [Float]] = [:]) {
            self.parts = parts
            self.rowSteps = rowSteps
            self.rowSquareRatios = rowSquareRatios
        }
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
                let flags = [Bool](repeating: false, count: p.isSparse ? p.shape[0] : 0)
                let s = Slot(name: p.name, shape: p.shape, sparse: p.isSparse, sum: [Float](repeating: 0, count: p.denseCount),
                             touched: flags, fresh: flags)
                if k == slots.count { slots.append(s) } else { slots[k] = s }
                index[p.name] = k
            }
            // Moved out and back (never copied): the buffers are summed into in place.
            var sum = slots[k].sum, touched = slots[k].touched, fresh = slots[k].fresh
            slots[k].sum = []; slots[k].touched = []; slots[k].fresh = []
            if (rank == .scaled || squareRatios) && p.shape.count == 2 { addSquares(k, p) }
            sum.withUnsafeMutableBufferPointer { sum in
                p.values.withUnsafeBufferPointer { v in
                    guard let rows = p.rows else {
                        for i in 0..<v.count { sum[i] += v[i] }
                        return
                    }
                    let w = p.rowWidth
                    for (j, r) in rows.enumerated() {
                        touched[Int(r)] = true
                        fresh[Int(r)] = true
                        let dst = Int(r) * w, src = j * w
                        for i in 0..<w { sum[dst + i] += v[src + i] }
                    }
                }
            }
            slots[k].sum = sum; slots[k].touched = touched; slots[k].fresh = fresh
        }
        windows += 1
    }

    /// Adds each row's squared norm in `p` to slot `k`'s fresh squares.
    private mutating func addSquares(_ k: Int, _ p: TensorPart) {
        let n = p.shape[0], w = p.rowWidth
        if slots[k].freshSquares.count != n { slots[k].freshSquares = [Float](repeating: 0, count: n) }
        p.values.withUnsafeBufferPointer { v in
            for j in 0..<(p.rows?.count ?? n) {
                let r = p.rows.map { Int($0[j]) } ?? j
                var q: Float = 0
                for i in (j * w)..<(j * w + w) { q += v[i] * v[i] }
                slots[k].freshSquares[r] += q
            }
        }
    }

    /// Folds this push's squares into the running means (rows with a fresh gradient only) and
    /// returns them.
    private mutating func updateMeanSquares(_ k: Int) -> [Float] {
        let n = slots[k].shape[0]
        if slots[k].meanSquares.count != n { slots[k].meanSquares = [Float](repeating: 0, count: n) }
        if slots[k].freshSquares.count != n { slots[k].freshSquares = [Float](repeating: 0, count: n) }
        let b = Self.meanSquareDecay
        for r in 0..<n where slots[k].freshSquares[r] > 0 {
            let q = slots[k].freshSquares[r]
            slots[k].meanSquares[r] = slots[k].meanSquares[r] == 0 ? q : b * slots[k].meanSquares[r] + (1 - b) * q
            slots[k].freshSquares[r] = 0
        }
        return slots[k].meanSquares
    }

    /// The accumulated gradient as wire parts (in the order first added), at `precision`:
    /// bf16 values are rounded here and the rounding error stays as the residual; fp32 leaves
    /// nothing behind. With `rowFraction` f < 1 (`--push-rows`), each matrix part carries only
    /// its ceil(f * rows) rows of largest L2 norm, as a row-sparse part (dense matrices too);
    /// the other rows stay whole in the residual and compete again at the next push (top-k
    /// sparsification with error feedback, by rows so the server's lazy Adam and its patches
    /// touch only those rows), and `rowSteps` says how many pushes each sent row waited.
    /// Matrices of fewer than `minRows` rows get `otherFraction` instead (1: they travel whole;
    /// `--push-rows-scope items` and `--push-rows-other`). Starts the next push.
    public mutating func take(precision: PushPrecision, rowFraction: Double = 1, minRows: Int = 2,
                              otherFraction: Double = 1) -> Push {
        var out = Push(parts: [])
        out.parts.reserveCapacity(slots.count)
        for k in slots.indices {
            let (name, shape) = (slots[k].name, slots[k].shape)
            var sum = slots[k].sum, touched = slots[k].touched
            slots[k].sum = []; slots[k].touched = []
            defer { slots[k].sum = sum; slots[k].touched = touched }
            let fraction = shape.count == 2 && shape[0] >= minRows ? rowFraction : otherFraction
            let selective = fraction < 1 && shape.count == 2 && shape[0] >= 2
            if selective { countPending(k) }
            let ratios = selective && squareRatios
            if ratios { addPendingSquares(k) }
            let scale = rank == .scaled && shape.count == 2 ? updateMeanSquares(k) : nil
            if shape.count == 2 && !slots[k].freshSquares.isEmpty {
                for r in slots[k].freshSquares.indices { slots[k].freshSquares[r] = 0 }
            }
            for r in slots[k].fresh.indices { slots[k].fresh[r] = false }
            if !slots[k].sparse && !selective {
                out.parts.append(.dense(name, shape: shape, values: Self.send(&sum, from: 0, count: sum.count, precision)))
                continue
            }
            let w = shape.dropFirst().reduce(1, *)
            var candidates = slots[k].sparse ? (0..<touched.count).filter { touched[$0] } : Array(0..<shape[0])
            if selective {
                let budget = max(1, Int((fraction * Double(shape[0])).rounded(.up)))
                candidates = Self.largestRows(sum, width: w, among: candidates, count: budget, scale: scale)
            }
            var rows: [Int32] = []
            var values: [Float] = []
            var steps: [Int32] = []
            var squareRatios: [Float] = []
            rows.reserveCapacity(candidates.count)
            values.reserveCapacity(candidates.count * w)
            for r in candidates {
                rows.append(Int32(r))
                if ratios {
                    squareRatios.append(Self.squareRatio(sum, row: r, width: w, steps: max(1, slots[k].pending[r]),
                                                         squares: slots[k].pendingSquares[r]))
                    slots[k].pendingSquares[r] = 0
                }
                values.append(contentsOf: Self.send(&sum, from: r * w, count: w, precision))
                // A sent row's residual is its rounding error only: it waits for the row's next gradient.
                if slots[k].sparse { touched[r] = false }
                if selective {
                    steps.append(max(1, slots[k].pending[r]))
                    slots[k].pending[r] = 0
                }
            }
            out.parts.append(.rowSparse(name, shape: shape, rows: rows, values: values))
            if selective { out.rowSteps[name] = steps }
            if ratios { out.rowSquareRatios[name] = squareRatios }
        }
        windows = 0
        return out
    }

    /// Adds this push's squared norm of every row to the row's pending sum (slot `k`).
    private mutating func addPendingSquares(_ k: Int) {
        let n = slots[k].shape[0]
        if slots[k].pendingSquares.count != n { slots[k].pendingSquares = [Float](repeating: 0, count: n) }
        guard slots[k].freshSquares.count == n else { return }
        for r in 0..<n { slots[k].pendingSquares[r] += slots[k].freshSquares[r] }
    }

    /// k * squares / |sum row|^2, in [1, the wire's maxRowSquareRatio] (gradients that cancel
    /// almost exactly); 1 for k = 1 (one push: its own square).
    static func squareRatio(_ sum: [Float], row r: Int, width w: Int, steps k: Int32, squares: Float) -> Float {
        guard k > 1 else { return 1 }
        var n: Float = 0
        for i in (r * w)..<(r * w + w) { n += sum[i] * sum[i] }
        let cap = WireLimits.maxRowSquareRatio
        guard n > 0 else { return cap }
        let ratio = Float(k) * squares / n
        return ratio.isFinite ? min(max(ratio, 1), cap) : cap
    }

    /// One more push for every row with a gradient waiting in slot `k`: all rows of a dense
    /// part (every window's gradient covers them), the rows some window touched since the last
    /// push of a sparse one.
    private mutating func countPending(_ k: Int) {
        let rows = slots[k].shape[0]
        if slots[k].pending.count != rows { slots[k].pending = [Int32](repeating: 0, count: rows) }
        let sparse = slots[k].sparse
        for r in 0..<rows where !sparse || slots[k].fresh[r] {
            slots[k].pending[r] = min(slots[k].pending[r] &+ 1, WireLimits.maxRowSteps)
        }
    }

    /// The `count` rows of `among` with the largest L2 norm in `sum` (divided by sqrt(scale[r])
    /// where given and positive), in increasing order; all of them when there are no more; rows
    /// that are all zero are never chosen.
    static func largestRows(_ sum: [Float], width w: Int, among: [Int], count: Int, scale: [Float]? = nil) -> [Int] {
        var norms: [(row: Int, norm: Float)] = []
        norms.reserveCapacity(among.count)
        sum.withUnsafeBufferPointer { s in
            for r in among {
                var n: Float = 0
                for i in (r * w)..<(r * w + w) { n += s[i] * s[i] }
                if let scale, scale[r] > 0 { n /= scale[r] }
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
