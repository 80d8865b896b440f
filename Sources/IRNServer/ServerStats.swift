import Foundation

/// One actor as the server sees it.
public struct ActorRow: Sendable {
    public var id: String
    public var host: String
    public var threads: UInt32
    public var joinedAt: Double
    public var lastSeen: Double
    public var pushes: UInt64 = 0
    public var applied: UInt64 = 0
    public var stale: UInt64 = 0
    public var lastStaleness: UInt64 = 0
    public var bytesIn: UInt64 = 0
}

/// Counters the server keeps for `irn stats` and Prometheus.
public struct ServerCounters: Sendable {
    public var pushes: UInt64 = 0
    public var applied: UInt64 = 0
    public var droppedStale: UInt64 = 0
    public var rejected: [String: UInt64] = [:]
    public var bytesIn: UInt64 = 0
    public var bytesOut: UInt64 = 0
    public var broadcasts: UInt64 = 0
    public var broadcastBytes: UInt64 = 0
    /// Bytes of gradient messages and the environment events they cover (bytes per event).
    public var pushBytes: UInt64 = 0
    public var events: UInt64 = 0
    public var actorsTimedOut: UInt64 = 0
    public var leasesReassigned: UInt64 = 0
    public var recentLosses: [Double] = []
    /// Sessions started in accepted pushes (stat "sessions" of the agents' gradients), by
    /// epoch: each training session exactly once per epoch, however actors came and went.
    public var sessionsStarted: [UInt64] = []
    /// Running means of the pushes' scalar stats over the last 100 pushes.
    public var recentStats: [String: [Double]] = [:]
    public var recentStaleness: [UInt64] = []
    /// (time, applied) samples a few times a second over the last ~10 s, for the update rate.
    public var rateSamples: [(time: Double, applied: UInt64)] = []

    public var rejectedTotal: UInt64 { rejected.values.reduce(0, +) }

    mutating func noteLoss(_ x: Double) {
        recentLosses.append(x)
        if recentLosses.count > 20 { recentLosses.removeFirst(recentLosses.count - 20) }
    }

    /// Most distinct stat names kept: a push may carry up to 256 names of its own choosing,
    /// which would otherwise grow the stats (and every stats answer) without bound.
    static let maxStatNames = 64

    mutating func noteStats(_ stats: [String: Double]) {
        for (k, v) in stats where k != "sessions" && k != "events"
            && (recentStats[k] != nil || recentStats.count < Self.maxStatNames) {
            recentStats[k, default: []].append(v)
            if recentStats[k]!.count > 100 { recentStats[k]!.removeFirst(recentStats[k]!.count - 100) }
        }
    }

    mutating func noteStaleness(_ s: UInt64) {
        recentStaleness.append(s)
        if recentStaleness.count > 1000 { recentStaleness.removeFirst(recentStaleness.count - 1000) }
    }

    /// Records the applied count now (called periodically, at most every 0.25 s).
    mutating func sampleRate(at t: Double) {
        if let last = rateSamples.last, t - last.time < 0.25 { return }
        rateSamples.append((t, applied))
        // Keep one sample at least 10 s old, so the rate covers a full window.
        while rateSamples.count > 2 && t - rateSamples[1].time >= 10 { rateSamples.removeFirst() }
    }

    /// Updates per second over about the last 10 seconds (or since start).
    func updatesPerSecond(now: Double, start: Double) -> Double {
        let (t0, a0) = rateSamples.first ?? (start, 0)
        guard now - t0 > 1e-3 else { return 0 }
        return Double(applied - min(a0, applied)) / (now - t0)
    }

    func stalenessQuantile(_ q: Double) -> UInt64 {
        guard !recentStaleness.isEmpty else { return 0 }
        let s = recentStaleness.sorted()
        return s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded()))]
    }
}
