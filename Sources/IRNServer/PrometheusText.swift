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
        metric("push_bytes_per_event", "Push bytes (actor to server) per environment event.", "gauge", s["push_bytes_per_event"])
        metric("broadcast_bytes_per_event_per_actor", "Broadcast bytes each actor receives per environment event.", "gauge", s["broadcast_bytes_per_event_per_actor"])
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
