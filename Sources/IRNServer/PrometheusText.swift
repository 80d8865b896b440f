import IRNWire

/// Turns a stats dictionary (keys: `StatsSchema`) into Prometheus text exposition.
///
/// Conventions (https://prometheus.io/docs/practices/naming/): every name starts with `irn_`;
/// counters end in `_total`; a name carries its unit (`_seconds`, `_bytes`) and one family
/// holds one unit, so evaluation figures are split into recall, MRR, events and duration;
/// labelled families list every known label value from the start (a rejection reason reads 0
/// until it happens, so `rate()` and alerts see it from the first scrape).
enum PrometheusText {
    /// Every reason a message can be rejected for (`WireError.label` and the server's own).
    static let rejectionReasons = [
        "framing", "magic", "version", "kind", "oversized", "checksum", "malformed", "non_finite", "range", "tensor",
        "part_unknown", "part_shape", "part_duplicate", "part_missing", "model", "bad_counts",
        "version_ahead", "unknown_actor", "unexpected_kind", "stale_lease", "lease_not_held",
    ]

    static func render(_ s: [String: Any]) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Any?)]) {
            let rendered = samples.compactMap { sample in number(sample.value).map { "irn_\(name)\(sample.labels) \($0)\n" } }
            guard !rendered.isEmpty else { return }
            out += "# HELP irn_\(name) \(help)\n# TYPE irn_\(name) \(type)\n"
            out += rendered.joined()
        }
        func metric(_ name: String, _ type: String, _ help: String, _ value: Any?) {
            family(name, type, help, [("", value)])
        }

        // Which build and which run: a restart changes run_id.
        family("build_info", "gauge", "Always 1; labels: the wire format version and this server run's id.",
               [("{wire_version=\"\(WireFormat.version)\",run_id=\"\(escape(s["run_id"]))\"}", 1)])
        metric("uptime_seconds", "gauge", "Seconds since the server started.", s["uptime_s"])
        metric("loop_cpu_seconds_total", "counter", "CPU seconds used by the serving thread.", s["loop_cpu_s"])

        // Training progress.
        metric("step_total", "counter", "Gradient applications so far (the weight version).", s["step"])
        metric("applied_total", "counter", "Gradients applied.", s["applied"])
        metric("updates_per_second", "gauge", "Gradient applications per second, last 10 s.", s["updates_per_s"])
        metric("env_steps_total", "counter", "Environment steps summed over all actors.", s["env_steps"])
        metric("target_refreshes_total", "counter", "Target network refreshes (the target version).", s["target_version"])
        metric("epoch", "gauge", "Current epoch (0-based).", s["epoch"])
        metric("epochs", "gauge", "Epochs to run.", s["epochs"])
        metric("finished", "gauge", "1 once every epoch is done.", s["finished"])
        metric("shards", "gauge", "Shards of the training split.", s["shards_total"])
        metric("shards_done", "gauge", "Shards finished in the current epoch.", s["shards_done"])
        metric("epoch_sessions", "gauge", "Sessions committed in the current epoch.", s["sessions_this_epoch"])

        // Gradients in, and what became of them.
        metric("pushes_total", "counter", "Gradient pushes received.", s["pushes"])
        metric("dropped_stale_total", "counter", "Gradients dropped for staleness over --max-staleness.", s["dropped_stale"])
        let rejected = s["rejected"] as? [String: Any] ?? [:]
        let reasons = rejectionReasons + rejected.keys.filter { !rejectionReasons.contains($0) }.sorted()
        family("rejected_total", "counter", "Messages rejected, by reason.",
               reasons.map { ("{reason=\"\(escape($0))\"}", rejected[$0] ?? 0) })
        metric("refused_curve_total", "counter", "CURVE handshakes refused.", s["refused_curve"])
        metric("refused_keys", "gauge", "Distinct CURVE keys refused.", s["refused_keys"])
        metric("actors_timed_out_total", "counter", "Actors dropped for missing heartbeats.", s["actors_timed_out"])
        metric("checkpoints_written_total", "counter", "Checkpoints written by this server run.", s["checkpoints_written"])
        metric("checkpoint_failures_total", "counter", "Checkpoint writes that failed (the previous checkpoints stay).", s["checkpoint_failures"])
        metric("checkpoint_step", "gauge", "Step of the newest good checkpoint (-1: none).", s["checkpoint_step"])
        if let st = s["staleness"] as? [String: Any] {
            family("staleness", "gauge", "Staleness (versions behind) of the last 1000 pushes, by quantile.",
                   [("{quantile=\"0.5\"}", st["median"]), ("{quantile=\"0.95\"}", st["p95"]), ("{quantile=\"1\"}", st["max"])])
        }

        // Traffic.
        metric("received_bytes_total", "counter", "Bytes received on the actor and stats ports.", s["bytes_in"])
        metric("sent_bytes_total", "counter", "Bytes sent on the actor, broadcast and stats ports.", s["bytes_out"])
        metric("broadcast_bytes_total", "counter", "Bytes of weight patches and target refreshes broadcast.", s["broadcast_bytes"])
        metric("broadcasts_total", "counter", "Broadcast messages sent.", s["broadcasts"])
        metric("weight_update_bytes", "gauge", "Broadcast bytes per applied gradient.", s["weight_bytes_per_update"])
        metric("push_bytes_per_event", "gauge", "Push bytes (actor to server) per environment event.", s["push_bytes_per_event"])
        metric("broadcast_bytes_per_event_per_actor", "gauge", "Broadcast bytes each actor receives per environment event.", s["broadcast_bytes_per_event_per_actor"])

        // The loss terms and advantages, means over the last 100 pushes.
        if let m = s["recent_means"] as? [String: Any] {
            family("loss", "gauge", "Mean loss over the last 100 pushes, by term (total: their weighted sum).",
                   [("total", "loss"), ("policy", "policy_loss"), ("value", "value_loss"), ("reconstruction", "reconstruction_loss")]
                       .map { ("{term=\"\($0.0)\"}", m[$0.1]) })
            metric("advantage_mean", "gauge", "Mean advantage A over the last 100 pushes.", m["mean_advantage"])
            metric("advantage_abs_mean", "gauge", "Mean |A| over the last 100 pushes.", m["mean_abs_advantage"])
            metric("purchase_step_ratio", "gauge", "Share of purchase steps over the last 100 pushes.", m["purchase_share"])
            metric("active_steps", "gauge", "Mean active steps per push over the last 100 pushes.", m["active_steps"])
        }

        // Actors.
        let actors = s["actors"] as? [[String: Any]] ?? []
        metric("actors", "gauge", "Actors currently joined.", actors.count)
        func perActor(_ name: String, _ type: String, _ help: String, _ key: String) {
            family(name, type, help, actors.map { ("{actor=\"\(escape($0["id"]))\"}", $0[key]) })
        }
        perActor("actor_pushes_total", "counter", "Gradient pushes per actor.", "pushes")
        perActor("actor_applied_total", "counter", "Gradients applied per actor.", "applied")
        perActor("actor_stale_total", "counter", "Gradients dropped for staleness per actor.", "stale")
        perActor("actor_received_bytes_total", "counter", "Bytes received from each actor.", "bytes_in")
        perActor("actor_last_seen_seconds", "gauge", "Seconds since the actor was last heard.", "last_seen_s")

        // The latest evaluation, one family per unit. Keys: <split>.<kind>.<recall|mrr>@K,
        // <split>.<kind>.events, step, seconds.
        if let e = s["eval"] as? [String: Any] {
            var recall: [(String, Any?)] = [], mrr: [(String, Any?)] = [], events: [(String, Any?)] = []
            for key in e.keys.sorted() {
                let parts = key.split(separator: ".").map(String.init)
                guard parts.count == 3 else { continue }
                let where_ = "split=\"\(escape(parts[0]))\",kind=\"\(escape(parts[1]))\""
                if parts[2] == "events" {
                    events.append(("{\(where_)}", e[key]))
                } else if let at = parts[2].firstIndex(of: "@") {
                    let sample = ("{\(where_),k=\"\(escape(parts[2][parts[2].index(after: at)...]))\"}", e[key])
                    if parts[2].hasPrefix("recall") { recall.append(sample) } else if parts[2].hasPrefix("mrr") { mrr.append(sample) }
                }
            }
            family("eval_recall", "gauge", "Recall@K of the latest evaluation.", recall)
            family("eval_mrr", "gauge", "MRR@K of the latest evaluation.", mrr)
            family("eval_events", "gauge", "Events ranked by the latest evaluation.", events)
            metric("eval_step", "gauge", "Weight version the latest evaluation ran on.", e["step"])
            metric("eval_duration_seconds", "gauge", "Seconds the latest evaluation took.", e["seconds"])
        }
        return out
    }

    private static func number(_ v: Any?) -> String? {
        switch v {
        case let x as Int: return String(x)
        case let x as UInt64: return String(x)
        case let x as UInt32: return String(x)
        case let x as Double: return x.isFinite ? String(x) : nil
        case let x as Float: return x.isFinite ? String(x) : nil
        case let x as Bool: return x ? "1" : "0"
        default: return nil
        }
    }

    private static func escape(_ v: Any?) -> String {
        String(describing: v ?? "").replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
