#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IRNSupport

/// Counters written by the signal handler (async-signal-safe: plain stores, write(2) and
/// _exit only) and polled by the training loop through `StopFlag`.
enum SignalCounters {
    /// Signals received, by signal number (allocated before any handler is installed).
    nonisolated(unsafe) static let counts: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 65)
        p.initialize(repeating: 0, count: 65)
        return p
    }()
    /// Whether a second signal exits at once (tests switch it off).
    nonisolated(unsafe) static var exitOnRepeat = true
    nonisolated(unsafe) static var message: UnsafeMutablePointer<CChar>? = nil
}

private let onSignal: @convention(c) (Int32) -> Void = { sig in
    guard sig > 0 && sig < 65 else { return }
    let p = SignalCounters.counts
    p[Int(sig)] &+= 1
    if p[Int(sig)] >= 2 && SignalCounters.exitOnRepeat { _exit(130) }
    if p[Int(sig)] == 1, let m = SignalCounters.message { _ = write(2, m, strlen(m)) }
}

/// Turns Ctrl-C (SIGINT) into a stop request: the default action (kill the process, maybe
/// mid-write) is replaced by a handler that only counts; the training loop sees the count
/// through the StopFlag after its current iteration and leaves a usable model. A second
/// Ctrl-C exits at once (status 130), for a run that will not stop.
public final class TrainerSignalHandler {
    public let signalNumber: Int32

    public init(signal sig: Int32 = SIGINT, flag: StopFlag) {
        precondition(sig > 0 && sig < 65)
        signalNumber = sig
        let counts = SignalCounters.counts  // initialised here, never first inside the handler
        counts[Int(sig)] = 0
        if SignalCounters.message == nil {
            SignalCounters.message = strdup("\ninterrupt: finishing the current iteration, then saving the model (press Ctrl-C again to exit at once)\n")
        }
        flag.watch(signal: sig)
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = onSignal
        #else
        action.__sigaction_u.__sa_handler = onSignal
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(sig, &action, nil)
    }

    /// Signals of this number received since installation.
    public var received: Int { Int(SignalCounters.counts[Int(signalNumber)]) }

    /// Restores the default action.
    public func cancel() {
        signal(signalNumber, SIG_DFL)
    }
}
