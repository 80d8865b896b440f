import Foundation
import IRNSupport

/// The server's stats as its loop last published them, for readers on other threads (the
/// HTTP server). The loop owns the live counters; it publishes a snapshot when a reader has
/// asked since the last one, so a reader sees figures at most one loop turn old.
final class StatsBoard: Sendable {
    struct Snapshot: Sendable {
        var json = "{}"
        var prometheus = ""
        var serial: UInt64 = 0
    }

    private let state = Locked((snapshot: Snapshot(), wanted: false))

    /// True when a reader waits for a fresh snapshot (checked by the loop every turn).
    var wanted: Bool { state.withLock { $0.wanted } }

    /// Called by the loop.
    func publish(json: String, prometheus: String) {
        state.withLock {
            $0.snapshot = Snapshot(json: json, prometheus: prometheus, serial: $0.snapshot.serial + 1)
            $0.wanted = false
        }
    }

    /// A snapshot published after this call, or the latest one after `timeout` seconds (the
    /// loop may be busy applying a large gradient, or stopped).
    func fresh(timeout: Double = 1) async -> Snapshot {
        let serial = state.withLock { s -> UInt64 in
            s.wanted = true
            return s.snapshot.serial
        }
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            let s = state.withLock { $0.snapshot }
            if s.serial > serial { return s }
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
        return state.withLock { $0.snapshot }
    }
}
