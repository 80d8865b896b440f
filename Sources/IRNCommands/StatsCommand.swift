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
