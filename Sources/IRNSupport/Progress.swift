#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic wall-clock seconds, for rates and progress.
@inline(__always)
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds the calling thread has used (user + system).
public func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in MB (from /proc, Linux; 0 elsewhere).
public func peakResidentMB() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    #if os(Linux)
    return Double(usage.ru_maxrss) / 1024.0
    #else
    return Double(usage.ru_maxrss) / 1_048_576.0
    #endif
}

/// Writes progress lines to standard error at most every `interval` seconds, so long work
/// shows it is alive without flooding logs.
public struct ProgressReporter {
    public let label: String
    public let interval: Double
    private var last: Double
    private let start: Double

    public init(_ label: String, interval: Double = 2.0) {
        self.label = label
        self.interval = interval
        self.start = monotonicSeconds()
        self.last = start
    }

    public var elapsed: Double { monotonicSeconds() - start }

    /// Prints `message()` if the interval has passed (the closure runs only then).
    public mutating func tick(_ message: @autoclosure () -> String) {
        let now = monotonicSeconds()
        if now - last >= interval {
            last = now
            printError("[\(label) \(String(format1(now - start)))s] \(message())")
        }
    }

    public func finish(_ message: String) {
        printError("[\(label) \(String(format1(elapsed)))s] \(message)")
    }
}

@inline(__always)
func format1(_ x: Double) -> String {
    let v = (x * 10).rounded() / 10
    return "\(v)"
}

/// Writes a line to standard error.
public func printError(_ s: String) {
    var line = s
    line.append("\n")
    _ = line.withCString { ptr in write(2, ptr, strlen(ptr)) }
}
