import Foundation

/// Renders a server's stats object as a short report and a table of actors.
enum StatsTable {
    static func render(_ s: [String: Any]) -> String {
        func v(_ k: String) -> String { s[k].map { "\($0)" } ?? "-" }
        var lines: [String] = []
        lines.append("server run \(v("run_id")), up \(v("uptime_s")) s\(s["finished"] as? Bool == true ? ", FINISHED" : "")")
        lines.append("step \(v("step"))  updates/s \(v("updates_per_s"))  env steps \(v("env_steps"))  target v\(v("target_version"))")
        lines.append("epoch \(v("epoch"))/\(v("epochs"))  shards done \(v("shards_done"))/\(v("shards_total"))  sessions this epoch \(v("sessions_this_epoch"))")
        let st = s["staleness"] as? [String: Any] ?? [:]
        lines.append("pushes \(v("pushes"))  applied \(v("applied"))  dropped stale \(v("dropped_stale"))  staleness median \(st["median"] ?? "-") p95 \(st["p95"] ?? "-")")
        let rej = (s["rejected"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.append("rejected \(v("rejected_total"))\(rej.isEmpty ? "" : " (\(rej))")  refused (CURVE) \(v("refused_curve"))  actors timed out \(v("actors_timed_out"))")
        lines.append("bytes in \(v("bytes_in"))  out \(v("bytes_out"))  (broadcast \(v("broadcast_bytes")))")
        if let losses = s["recent_losses"] as? [Double], !losses.isEmpty {
            lines.append("recent losses " + losses.suffix(8).map { String(format: "%.4g", $0) }.joined(separator: " "))
        }
        if let e = s["eval"] as? [String: Any], !e.isEmpty {
            lines.append("eval " + e.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        let actors = s["actors"] as? [[String: Any]] ?? []
        let header = ["actor", "host", "thr", "shards", "pushes", "applied", "stale", "staleness", "seen s ago"]
        var rows = [header]
        for a in actors {
            let shards = (a["shards"] as? [Any] ?? []).map { "\($0)" }.joined(separator: ",")
            rows.append([a["id"], a["host"], a["threads"], shards, a["pushes"], a["applied"], a["stale"],
                         a["staleness"], a["last_seen_s"]].map { "\($0 ?? "-")" }.map { $0 == "" ? "-" : $0 })
        }
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max()! }
        lines.append("")
        lines.append("\(actors.count) actor(s)")
        for r in rows {
            lines.append(zip(r, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}
