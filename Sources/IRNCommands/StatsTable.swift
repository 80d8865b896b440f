import Foundation

/// Renders a server's stats object as a short report, a table of evaluation metrics and a
/// table of actors.
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
        lines.append("per environment event: push \(v("push_bytes_per_event")) B, broadcast \(v("broadcast_bytes_per_event_per_actor")) B to each actor  (events \(v("events")))")
        if let losses = s["recent_losses"] as? [Double], !losses.isEmpty {
            lines.append("recent losses " + losses.suffix(8).map { String(format: "%.4g", $0) }.joined(separator: " "))
        }
        if let e = s["eval"] as? [String: Any], !e.isEmpty {
            lines.append("")
            lines += evalTable(e)
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

    /// The evaluation metrics ("<split>.<kind>.<metric>" keys, e.g. "valid.purchase.recall@5",
    /// plus "step" and "seconds") as a table: one row per split.kind, one column per metric
    /// (recall@K, then mrr@K, then any others, by K; the event count last).
    static func evalTable(_ e: [String: Any]) -> [String] {
        func number(_ x: Any?) -> Double? { (x as? NSNumber)?.doubleValue ?? (x as? Double) }
        var title = "evaluation"
        let when = [number(e["step"]).map { "step \(Int($0))" }, number(e["seconds"]).map { String(format: "%.2f s", $0) }].compactMap { $0 }
        if !when.isEmpty { title += " (" + when.joined(separator: ", ") + ")" }

        var cells: [String: [String: Any]] = [:]
        for (key, value) in e where key != "step" && key != "seconds" {
            // Metric names have no dots; everything before the last dot is the row.
            if let dot = key.lastIndex(of: ".") {
                cells[String(key[..<dot]), default: [:]][String(key[key.index(after: dot)...])] = value
            } else {
                cells["all", default: [:]][key] = value
            }
        }
        let kindOrder = ["purchase", "click", "first"]
        func rowKey(_ r: String) -> (String, Int, String) {
            let kind = r.split(separator: ".").last.map(String.init) ?? r
            let split = r.count > kind.count ? String(r.dropLast(kind.count + 1)) : ""
            return (split, kindOrder.firstIndex(of: kind) ?? kindOrder.count, kind)
        }
        let rows = cells.keys.sorted { rowKey($0) < rowKey($1) }
        let counts: Set<String> = ["events", "count"]
        func columnKey(_ c: String) -> (Int, String, Int) {
            if counts.contains(c) { return (3, c, 0) }
            let parts = c.split(separator: "@", maxSplits: 1).map(String.init)
            let family = parts[0], cutoff = parts.count > 1 ? Int(parts[1]) ?? Int.max : 0
            return (family == "recall" ? 0 : family == "mrr" ? 1 : 2, family, cutoff)
        }
        let columns = Set(cells.values.flatMap(\.keys)).sorted { columnKey($0) < columnKey($1) }

        var table = [["split.kind"] + columns]
        for r in rows {
            table.append([r] + columns.map { c in
                guard let v = cells[r]?[c] else { return "-" }
                guard let x = number(v) else { return "\(v)" }
                return counts.contains(c) ? "\(Int(x.rounded()))" : String(format: "%.4f", x)
            })
        }
        let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max()! }
        // Labels to the left, numbers to the right.
        return [title] + table.map { row in
            row.enumerated().map { c, text in
                let pad = String(repeating: " ", count: widths[c] - text.count)
                return c == 0 ? text + pad : pad + text
            }.joined(separator: "  ")
        }
    }
}
