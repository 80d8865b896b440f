import Synchronization

/// Counters for `GET /metrics` (Prometheus text format): requests by route and status,
/// request latency and batch size histograms, model version, live / expired / evicted
/// sessions, weight swaps in follow mode. Thread-safe.
public final class ServingMetrics: Sendable {
    static let latencyBuckets: [Double] = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]

    struct Histogram {
        var buckets: [Double]
        var counts: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0
        init(_ b: [Double]) { buckets = b; counts = [UInt64](repeating: 0, count: b.count) }
        mutating func observe(_ v: Double) {
            for i in buckets.indices where v <= buckets[i] { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    struct State {
        var requests: [String: UInt64] = [:]  // "route|code"
        var latency: [String: Histogram] = [:]
        var batch = Histogram(batchBuckets)
        var modelVersion: UInt64 = 0
        var swaps: UInt64 = 0
        var scoringSeconds = 0.0
        var live = 0, expired = 0, evicted = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func observeRequest(route: String, status: Int, seconds: Double) {
        state.withLock { s in
            s.requests["\(route)|\(status)", default: 0] += 1
            s.latency[route, default: Histogram(Self.latencyBuckets)].observe(seconds)
        }
    }

    func observeBatch(size: Int, seconds: Double) {
        state.withLock { $0.batch.observe(Double(size)); $0.scoringSeconds += seconds }
    }

    func setModel(version: UInt64) {
        state.withLock { s in
            if s.modelVersion != version { s.swaps += 1 }
            s.modelVersion = version
        }
    }

    func setSessions(live: Int, expired: Int, evicted: Int) {
        state.withLock { $0.live = live; $0.expired = expired; $0.evicted = evicted }
    }

    public var liveSessions: Int { state.withLock { $0.live } }

    public func render() -> String {
        let s = state.withLock { $0 }
        var out = ""
        out += "# HELP irn_serve_requests_total HTTP requests by route and status code.\n# TYPE irn_serve_requests_total counter\n"
        for key in s.requests.keys.sorted() {
            let parts = key.split(separator: "|", maxSplits: 1)
            out += "irn_serve_requests_total{route=\"\(parts[0])\",code=\"\(parts[1])\"} \(s.requests[key]!)\n"
        }
        out += "# HELP irn_serve_request_seconds Request latency in the server (parse, batch wait, scoring, encode).\n# TYPE irn_serve_request_seconds histogram\n"
        for route in s.latency.keys.sorted() { out += Self.histogram("irn_serve_request_seconds", s.latency[route]!, label: "route=\"\(route)\"") }
        out += "# HELP irn_serve_batch_size Jobs scored together by one matrix product.\n# TYPE irn_serve_batch_size histogram\n"
        out += Self.histogram("irn_serve_batch_size", s.batch, label: nil)
        out += "# HELP irn_serve_scoring_seconds_total Time the scoring thread spent on batches (LSTM steps, logits, top-K).\n# TYPE irn_serve_scoring_seconds_total counter\nirn_serve_scoring_seconds_total \(s.scoringSeconds)\n"
        out += "# HELP irn_serve_model_version Weight version being served (the cluster's step in follow mode).\n# TYPE irn_serve_model_version gauge\nirn_serve_model_version \(s.modelVersion)\n"
        out += "# HELP irn_serve_model_swaps_total Times a new weight version was swapped in.\n# TYPE irn_serve_model_swaps_total counter\nirn_serve_model_swaps_total \(s.swaps)\n"
        out += "# HELP irn_serve_sessions_live Stateful sessions held.\n# TYPE irn_serve_sessions_live gauge\nirn_serve_sessions_live \(s.live)\n"
        out += "# HELP irn_serve_sessions_expired_total Sessions dropped after --session-ttl idle seconds.\n# TYPE irn_serve_sessions_expired_total counter\nirn_serve_sessions_expired_total \(s.expired)\n"
        out += "# HELP irn_serve_sessions_evicted_total Sessions evicted (least recently used) at --max-sessions.\n# TYPE irn_serve_sessions_evicted_total counter\nirn_serve_sessions_evicted_total \(s.evicted)\n"
        return out
    }

    private static func histogram(_ name: String, _ h: Histogram, label: String?) -> String {
        let l = label.map { "\($0)," } ?? ""
        var out = ""
        for (i, b) in h.buckets.enumerated() { out += "\(name)_bucket{\(l)le=\"\(b)\"} \(h.counts[i])\n" }
        out += "\(name)_bucket{\(l)le=\"+Inf\"} \(h.count)\n"
        let plain = label.map { "{\($0)}" } ?? ""
        out += "\(name)_sum\(plain) \(h.sum)\n\(name)_count\(plain) \(h.count)\n"
        return out
    }
}
