#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Single-precision libm, named so they cannot be confused with Swift's generic math.
@inline(__always) func expF(_ x: Float) -> Float { expf(x) }
@inline(__always) func log1pF(_ x: Float) -> Float { log1pf(x) }
@inline(__always) func tanhF(_ x: Float) -> Float { tanhf(x) }
@inline(__always) func logF(_ x: Float) -> Float { logf(x) }
@inline(__always) func powF(_ x: Float, _ y: Float) -> Float { powf(x, y) }
