import ArgumentParser
import Foundation
import IRNServer
import IRNSupport

/// `irn stats`: a running server's stats, as a table or as JSON.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show a running irn-server's stats (asks its stats port, P+2).",
        discussion: "JSON keys (--json):\n" + StatsSchema.helpText
    )

    @Flag(help: "Print the stats keys and their meanings as a Markdown table (what cluster/README.md shows) and exit.")
    var keys = false

    @Option(help: "The server's actor endpoint, tcp://HOST:P (stats are read from P+2).")
    var server: String?

    @Flag(help: "Print the raw JSON object (one line) instead of a table.")
    var json = false

    @Option(help: "Refresh every SECONDS until interrupted (0: print once).")
    var watch: Double = 0

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 3

    func validate() throws {
        guard watch >= 0 else { throw ValidationError("--watch must be >= 0") }
        guard timeout > 0 else { throw ValidationError("--timeout must be > 0") }
        if !keys {
            guard let server else { throw ValidationError("--server tcp://HOST:P is required") }
            _ = try StatsClient.statsEndpoint(forServer: server)
        }
    }

    /// `== tcp://HOST:P at 2026-12-01T06:55:12Z`
    static func watchHeader(server: String, now: Date = Date()) -> String {
        "== \(server) at \(ISO8601DateFormatter().string(from: now))"
    }

    func run() throws {
        guard let server, !keys else {
            print(StatsSchema.markdownTable)
            return
        }
        repeat {
            let text: String
            do {
                text = try StatsClient.fetch(server: server, timeoutSeconds: timeout)
            } catch {
                if watch > 0 {
                    printError("irn: error: \(error) (retrying in \(watch) s)")
                    Thread.sleep(forTimeInterval: watch)
                    continue
                }
                throw error
            }
            if json {
                print(text)
            } else {
                let obj = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                // --watch: a header line separates one table from the next.
                if watch > 0 { print(Self.watchHeader(server: server)) }
                print(StatsTable.render(obj))
            }
            // Each answer whole and at once, also into a pipe (stdout is block-buffered there).
            fflush(nil)  // all C streams; `stdout` itself is not concurrency-safe to name
            if watch > 0 { Thread.sleep(forTimeInterval: watch) }
        } while watch > 0
    }
}
