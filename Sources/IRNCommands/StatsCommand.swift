import ArgumentParser
import Foundation
import IRNServer
import IRNSupport

/// `irn stats`: a running server's stats, as a table or as JSON.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show a running irn-server's stats (asks its stats port, P+2).",
        discussion: """
        JSON keys (--json): run_id, uptime_s, step (gradient applications), updates_per_s \
        (last 10 s), env_steps, epoch, epochs, finished, shards_total, shards_done, \
        sessions_this_epoch, target_version, pushes, applied, dropped_stale, rejected \
        {reason: count}, rejected_total, refused_curve, refused_keys, bytes_in, bytes_out, \
        broadcast_bytes, broadcasts, actors_timed_out, staleness {median, p95, max}, \
        recent_losses, eval {metric: value}, actors [{id, host, threads, shards, pushes, \
        applied, stale, staleness, last_seen_s, joined_s_ago, bytes_in}].
        """
    )

    @Option(help: "The server's actor endpoint, tcp://HOST:P (stats are read from P+2).")
    var server: String

    @Flag(help: "Print the raw JSON object (one line) instead of a table.")
    var json = false

    @Option(help: "Refresh every SECONDS until interrupted (0: print once).")
    var watch: Double = 0

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 3

    func validate() throws {
        guard watch >= 0 else { throw ValidationError("--watch must be >= 0") }
        guard timeout > 0 else { throw ValidationError("--timeout must be > 0") }
        _ = try StatsClient.statsEndpoint(forServer: server)
    }

    func run() throws {
        repeat {
            let text: String
            do {
                text = try StatsClient.fetch(server: server, timeoutSeconds: timeout)
            } catch {
                if watch > 0 {
                    printError("\(error)")
                    Thread.sleep(forTimeInterval: watch)
                    continue
                }
                throw error
            }
            if json {
                print(text)
            } else {
                let obj = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                print(StatsTable.render(obj))
            }
            if watch > 0 { Thread.sleep(forTimeInterval: watch) }
        } while watch > 0
    }
}
