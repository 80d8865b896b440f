import Foundation
import IRNSupport
import IRNWire

// The server's read-only faces: stats as a dictionary / JSON (REP socket on P+2) and HTTP
// (STREAM socket on P+3: Prometheus text and JSON).
extension ParameterServer {

    /// The stats as a dictionary (keys documented in `statsJSON`).
    public func statsDictionary() -> [String: Any] {
        let now = monotonicSeconds()
        var rows: [[String: Any]] = []
        for (identity, a) in actors.sorted(by: { $0.value.id < $1.value.id }) {
            rows.append([
                "id": a.id, "host": a.host, "threads": Int(a.threads),
                "shards": leases.shards(of: key(identity)).map { Int($0) },
                "pushes": Int(a.pushes), "applied": Int(a.applied), "stale": Int(a.stale),
                "staleness": Int(a.lastStaleness), "last_seen_s": (now - a.lastSeen).rounded3,
                "joined_s_ago": (now - a.joinedAt).rounded3, "bytes_in": Int(a.bytesIn),
            ])
        }
        let zapCounts = zap?.counts
        return [
            "run_id": String(runId, radix: 16),
            "uptime_s": (now - startTime).rounded3,
            "loop_cpu_s": loopCPUSeconds.rounded6,
            "step": Int(store.version),
            "updates_per_s": counters.updatesPerSecond(now: now, start: startTime).rounded3,
            "env_steps": Int(counters.envSteps),
            "epoch": Int(leases.epoch), "epochs": Int(leases.epochs), "finished": leases.finished,
            "shards_total": leases.shardSizes.count, "shards_done": leases.shardsDone,
            "sessions_this_epoch": Int(leases.sessionsThisEpoch),
            "target_version": Int(targetVersion),
            "pushes": Int(counters.pushes), "applied": Int(counters.applied),
            "dropped_stale": Int(counters.droppedStale),
            "rejected": counters.rejected.mapValues { Int($0) },
            "rejected_total": Int(counters.rejectedTotal),
            "refused_curve": zapCounts?.refused ?? 0,
            "refused_keys": Set(zapCounts?.lastRefusedKeys ?? []).count,
            "bytes_in": Int(counters.bytesIn), "bytes_out": Int(counters.bytesOut),
            "broadcast_bytes": Int(counters.broadcastBytes), "broadcasts": Int(counters.broadcasts),
            "actors_timed_out": Int(counters.actorsTimedOut),
            "staleness": ["median": Int(counters.stalenessQuantile(0.5)), "p95": Int(counters.stalenessQuantile(0.95)),
                          "max": Int(counters.recentStaleness.max() ?? 0)],
            "recent_losses": counters.recentLosses,
            "sessions_started": counters.sessionsStarted.map { Int($0) },
            "recent_means": counters.recentStats.mapValues { v in (v.reduce(0, +) / Double(max(v.count, 1))).rounded6 },
            "weight_bytes_per_update": counters.applied == 0 ? 0 : Int(counters.broadcastBytes / counters.applied),
            "eval": evalMetrics.current,
            "actors": rows,
        ]
    }

    /// Stats as one JSON object (sorted keys): run_id, uptime_s, loop_cpu_s (CPU time of the
    /// serving thread: decoding, Adam, encoding), step, updates_per_s, env_steps,
    /// epoch, epochs, finished, shards_total, shards_done, sessions_this_epoch, target_version,
    /// pushes, applied, dropped_stale, rejected {reason: n}, rejected_total, refused_curve,
    /// refused_keys, bytes_in, bytes_out, broadcast_bytes, broadcasts, actors_timed_out,
    /// staleness {median, p95, max}, recent_losses [..], sessions_started [per epoch],
    /// recent_means {stat: mean over the last 100 pushes}, weight_bytes_per_update, eval {metric: value}, actors [{id, host,
    /// threads, shards, pushes, applied, stale, staleness, last_seen_s, joined_s_ago, bytes_in}].
    public func statsJSON() -> String {
        let data = (try? JSONSerialization.data(withJSONObject: statsDictionary(), options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    func serveStats() throws {
        guard let frames = try sockets.stats.receive(dontWait: true) else { return }
        counters.bytesIn += UInt64(frames.reduce(0) { $0 + $1.count })
        let answer: String
        do {
            let env = try WireFormat.decode(frames, maxBytes: 1 << 20)
            if case .statsRequest = env.message {
                answer = statsJSON()
            } else {
                reject("unexpected_kind", "\(env.message.kind) on the stats port")
                answer = #"{"error":"expected a stats request"}"#
            }
        } catch {
            reject(error.label, error.description)
            answer = "{\"error\":\"\(error.label)\"}"
        }
        let out = WireFormat.encode(.statsReply(json: answer), senderRunId: runId, weightVersion: store.version)
        counters.bytesOut += UInt64(out.reduce(0) { $0 + $1.count })
        try sockets.stats.send(out)
    }

    func serveHTTP() throws {
        for _ in 0..<64 {
            guard let m = try sockets.http.receive(dontWait: true), m.count == 2 else { return }
            let peer = m[0]
            if m[1].isEmpty {  // connect / disconnect notice
                httpBuffers.removeValue(forKey: peer)
                continue
            }
            counters.bytesIn += UInt64(m[1].count)
            var buf = httpBuffers[peer, default: []] + m[1]
            guard let end = buf.firstRange(of: Array("\r\n\r\n".utf8)) else {
                if buf.count > 8192 {
                    reject("http", "request header over 8 KiB")
                    httpBuffers.removeValue(forKey: peer)
                    _ = try? sockets.http.send([peer, []], dontWait: true)
                } else {
                    httpBuffers[peer] = buf
                }
                continue
            }
            buf = Array(buf[..<end.lowerBound])
            httpBuffers.removeValue(forKey: peer)
            let firstLine = String(decoding: buf.prefix { $0 != 13 }, as: UTF8.self)
            let parts = firstLine.split(separator: " ")
            let (status, type, body): (String, String, String)
            if parts.count >= 2 && parts[0] == "GET" && parts[1] == "/metrics" {
                (status, type, body) = ("200 OK", "text/plain; version=0.0.4", PrometheusText.render(statsDictionary()))
            } else if parts.count >= 2 && parts[0] == "GET" && parts[1] == "/stats" {
                (status, type, body) = ("200 OK", "application/json", statsJSON())
            } else {
                if parts.first != "GET" { reject("http", "not a GET: \(firstLine.prefix(40))") }
                (status, type, body) = ("404 Not Found", "text/plain", "try GET /metrics or GET /stats\n")
            }
            let bodyBytes = Array(body.utf8)
            let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bodyBytes.count)\r\nConnection: close\r\n\r\n"
            let response = Array(head.utf8) + bodyBytes
            counters.bytesOut += UInt64(response.count)
            _ = try? sockets.http.send([peer, response], dontWait: true)
            _ = try? sockets.http.send([peer, []], dontWait: true)
        }
    }
}
