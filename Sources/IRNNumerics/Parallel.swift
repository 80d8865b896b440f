import Dispatch

/// Splits row-independent element-wise work over the cores OpenBLAS uses, so the work
/// between matrix products does not run on one core while the others idle. Every chunk
/// computes the same numbers it would alone: results do not depend on the thread count.
public enum Parallel {
    /// Worker count: OpenBLAS's thread count (set with `BLAS.setThreads`), at least 1.
    public static var workers: Int { max(1, BLAS.threads) }

    /// Calls `body(chunk, range)` for up to `workers` contiguous ranges covering 0..<count,
    /// none shorter than `minChunk` (a single call when the work is small).
    public static func chunks(_ count: Int, minChunk: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        guard count > 0 else { return }
        let n = min(workers, max(1, count / max(minChunk, 1)))
        if n == 1 { body(0, 0..<count); return }
        let per = (count + n - 1) / n
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(b)
            DispatchQueue.concurrentPerform(iterations: n) { c in
                let lo = c * per, hi = min(count, lo + per)
                if lo < hi { box.value(c, lo..<hi) }
            }
        }
    }
}

/// Carries a non-Sendable value into concurrent chunks that touch disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
