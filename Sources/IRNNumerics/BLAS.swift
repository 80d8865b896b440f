import COpenBLAS

/// One matrix product as issued to BLAS: C[m x n] += A[m x k] B[k x n] (gemv: n == 1).
public struct GemmShape: Sendable, Hashable {
    public var m: Int, n: Int, k: Int
    public var transA: Bool, transB: Bool
    /// Multiply-adds counted as 2 FLOPs each.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// Records the products a piece of work issues, so a benchmark can count its FLOPs and
/// replay the same shapes to measure what the BLAS library achieves on them.
public final class GemmRecorder {
    public private(set) var shapes: [GemmShape] = []
    public init() {}
    public func record(_ s: GemmShape) { shapes.append(s) }
    public func clear() { shapes.removeAll(keepingCapacity: true) }
    public var totalFlops: Double { shapes.reduce(0) { $0 + $1.flops } }
}

/// Thin row-major wrappers over OpenBLAS.
public enum BLAS {
    /// C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is m x k, op(B) is k x n.
    @inline(__always)
    public static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, recorder: GemmRecorder? = nil
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS leaves C scaled by beta; do the same without calling it.
            for r in 0..<m { let row = c + r * ldc; for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] } }
            return
        }
        recorder?.record(GemmShape(m: m, n: n, k: k, transA: transA, transB: transB))
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha * op(A) x + beta * y with A row-major rows x cols.
    @inline(__always)
    public static func gemv(
        trans: Bool = false, rows: Int, cols: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>, recorder: GemmRecorder? = nil
    ) {
        if rows == 0 || cols == 0 { return }
        recorder?.record(GemmShape(m: trans ? cols : rows, n: 1, k: trans ? rows : cols, transA: trans, transB: false))
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols), alpha, a, Int32(lda),
                    x, 1, beta, y, 1)
    }

    /// Number of threads OpenBLAS uses for one product.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// The kernel family OpenBLAS picked for this CPU (override with OPENBLAS_CORETYPE).
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
