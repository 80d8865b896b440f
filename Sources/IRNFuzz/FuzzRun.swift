import Foundation
import IRNSupport

/// `irn fuzz`: what to fuzz and how much.
public struct FuzzOptions: Sendable {
    /// tcp://HOST:P of an irn-server (fuzzes P, P+1 and P+2).
    public var target: String?
    /// HTTP endpoints (irn-server's P+3, irn serve's port).
    public var http: [String] = []
    /// Messages per port.
    public var messages = 10_000
    public var seed: UInt64 = 1
    /// Seconds to wait for an answer before counting a timeout.
    public var timeout: Double = 5
    /// Ports to fuzz on the target: any of "P", "P+1", "P+2".
    public var zmqPorts: Set<String> = ["P", "P+1", "P+2"]

    public init() {}
}

/// Runs the fuzzer and builds its JSON report.
public enum FuzzRun {
    /// The report (JSON text) and whether everything held: no crash or hang, every refusal
    /// counted by the reason the decoder predicts, finite weights, every port still answering.
    public static func run(_ o: FuzzOptions, log: (String) -> Void = { _ in }) throws -> (json: String, passed: Bool) {
        var ports: [[String: Any]] = []
        var failures: [String] = []
        var checks: [String: Any] = [:]
        let started = monotonicSeconds()
        if let target = o.target {
            let f = try ClusterFuzzer(target: target, seed: o.seed, replyTimeoutMs: Int(o.timeout * 1000))
            var reports: [PortReport] = []
            if o.zmqPorts.contains("P") {
                log("fuzzing \(f.endpoint(0)) (actors, ROUTER): \(o.messages) messages")
                reports.append(try f.fuzzActorPort(messages: o.messages) { log("  \($0) messages") })
            }
            if o.zmqPorts.contains("P+2") {
                log("fuzzing \(f.endpoint(2)) (stats, REP): \(o.messages) messages")
                reports.append(try f.fuzzStatsPort(messages: o.messages))
            }
            if o.zmqPorts.contains("P+1") {
                log("fuzzing \(f.endpoint(1)) (broadcast, PUB) with raw ZMTP peers: \(o.messages) connections")
                reports.append(try f.fuzzBroadcastPort(messages: o.messages))
            }
            if o.zmqPorts.contains("P") {
                log("sequence check on \(f.endpoint(0)): 25 consecutive gradients of +(2^60 - ulp), then 25 of +Float.greatestFiniteMagnitude")
                let burst = try f.hugeGradientBurst(count: 50)
                checks["huge_gradient_burst"] = ["answers": burst.answers, "weights": burst.problem ?? "finite"] as [String: Any]
                if let p = burst.problem { failures.append("after 50 consecutive huge gradients: \(p)") }
            }
            for r in reports {
                ports.append(r.json)
                failures += r.failures.map { "\(r.port): \($0)" }
            }
            let answering = try f.portsAnswer()
            checks["ports_answer"] = answering
            for (p, v) in answering where v != "ok" { failures.append("\(p) after the run: \(v)") }
            let weights = try f.weightsProblem()
            checks["weights_finite"] = weights == nil
            if let w = weights { failures.append("weights after the run: \(w)") }
            if let s = try f.stats() {
                checks["server_rejected"] = s["rejected"] ?? [:]
                checks["server_rejected_total"] = s["rejected_total"] ?? 0
                checks["server_step"] = s["step"] ?? 0
                checks["server_uptime_s"] = s["uptime_s"] ?? 0
            }
        }
        for url in o.http {
            // irn serve answers /v1/info with sample item ids; irn-server's HTTP port does not.
            let probe = try HTTPFuzzer(url: url, profile: .serve, seed: o.seed, timeout: o.timeout)
            var items: [Int64] = [1, 2, 3]
            var profile = HTTPFuzzer.Profile.server
            if let info = probe.fetchJSON("/v1/info") {
                profile = .serve
                if let sample = info["sample_items"] as? [NSNumber], !sample.isEmpty { items = sample.map(\.int64Value) }
            }
            let h = try HTTPFuzzer(url: url, profile: profile, seed: o.seed, timeout: o.timeout)
            log("fuzzing \(url) (\(profile.rawValue)): \(o.messages) requests")
            let r = h.run(messages: o.messages, items: items) { log("  \($0) requests") }
            ports.append(r.json)
            failures += r.failures.map { "\(r.port): \($0)" }
        }
        let report: [String: Any] = [
            "seed": Int(truncatingIfNeeded: o.seed), "messages_per_port": o.messages,
            "seconds": (monotonicSeconds() - started).rounded(), "ports": ports, "checks": checks,
            "failures": failures, "passed": failures.isEmpty,
        ]
        return (jsonText(report), failures.isEmpty)
    }
}

extension HTTPFuzzer {
    /// GET path, the body as a JSON object (nil unless 200 with an object).
    func fetchJSON(_ path: String) -> [String: Any]? {
        guard let c = try? RawTCP(host: host, port: port, timeout: timeout) else { return nil }
        c.write(Self.request("GET", path, headers: ["Host: x", "Connection: close"], body: nil))
        let (reply, _) = c.read(limit: 1 << 20)
        guard let text = String(bytes: reply, encoding: .utf8), text.hasPrefix("HTTP/1.1 200"),
              let r = text.range(of: "\r\n\r\n") else { return nil }
        return jsonObject(String(text[r.upperBound...]))
    }
}
