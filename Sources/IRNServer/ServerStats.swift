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
    public var envSteps: UInt64 = 0
    public var broadcasts: UInt64 = 0
    public var broadcastBytes: UInt64 = 0
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

    mutating func noteStats(_ stats: [String: Double]) {
        for (k, v) in stats where k != "sessions" {
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

/// Turns a stats dictionary into Prometheus text exposition (numbers only; labels for actors
/// and rejection reasons).
enum PrometheusText {
    static func render(_ s: [String: Any]) -> String {
        var out = ""
        func metric(_ name: String, _ help: String, _ type: String, _ value: Any?) {
            guard let v = number(value) else { return }
            out += "# HELP irn_\(name) \(help)\n# TYPE irn_\(name) \(type)\n"
            out += "irn_\(name) \(v)\n"
        }
        metric("step", "Gradient applications (weight version).", "counter", s["step"])
        metric("updates_per_second", "Gradient applications per second, last 10 s.", "gauge", s["updates_per_s"])
        metric("loop_cpu_seconds_total", "CPU seconds used by the serving thread.", "counter", s["loop_cpu_s"])
        metric("env_steps_total", "Environment steps summed over all actors.", "counter", s["env_steps"])
        metric("epoch", "Current epoch (0-based).", "gauge", s["epoch"])
        metric("shards_done", "Shards finished in the current epoch.", "gauge", s["shards_done"])
        metric("target_version", "Target network version.", "counter", s["target_version"])
        metric("pushes_total", "Gradient pushes received.", "counter", s["pushes"])
        metric("dropped_stale_total", "Gradients dropped for staleness.", "counter", s["dropped_stale"])
        metric("refused_curve_total", "Connections refused by CURVE key check.", "counter", s["refused_curve"])
        metric("bytes_in_total", "Bytes received.", "counter", s["bytes_in"])
        metric("bytes_out_total", "Bytes sent.", "counter", s["bytes_out"])
        metric("actors", "Actors currently joined.", "gauge", (s["actors"] as? [Any])?.count)
        if let r = s["rejected"] as? [String: Any] {
            out += "# HELP irn_rejected_total Messages rejected, by reason.\n# TYPE irn_rejected_total counter\n"
            for k in r.keys.sorted() { out += "irn_rejected_total{reason=\"\(k)\"} \(number(r[k]) ?? "0")\n" }
        }
        if let actors = s["actors"] as? [[String: Any]] {
            out += "# HELP irn_actor_pushes_total Gradient pushes per actor.\n# TYPE irn_actor_pushes_total counter\n"
            for a in actors { out += "irn_actor_pushes_total{actor=\"\(escape(a["id"]))\"} \(number(a["pushes"]) ?? "0")\n" }
            out += "# HELP irn_actor_last_seen_seconds Seconds since the actor was last heard.\n# TYPE irn_actor_last_seen_seconds gauge\n"
            for a in actors { out += "irn_actor_last_seen_seconds{actor=\"\(escape(a["id"]))\"} \(number(a["last_seen_s"]) ?? "0")\n" }
        }
        if let e = s["eval"] as? [String: Any] {
            out += "# HELP irn_eval Latest evaluation metrics.\n# TYPE irn_eval gauge\n"
            for k in e.keys.sorted() { if let v = number(e[k]) { out += "irn_eval{metric=\"\(k)\"} \(v)\n" } }
        }
        return out
    }

    private static func number(_ v: Any?) -> String? {
        switch v {
        case let x as Int: return String(x)
        case let x as UInt64: return String(x)
        case let x as UInt32: return String(x)
        case let x as Double: return x.isFinite ? String(x) : nil
        case let x as Bool: return x ? "1" : "0"
        default: return nil
        }
    }

    private static func escape(_ v: Any?) -> String {
        String(describing: v ?? "").replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
