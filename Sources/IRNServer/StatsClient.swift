import Foundation
import IRNSupport
import IRNWire
import ZeroMQ

/// Asks a running server for its stats (the REP socket on P+2) and returns the JSON text.
public enum StatsClient {
    /// `server` is the actors' endpoint `tcp://HOST:P`; stats live on P+2.
    public static func statsEndpoint(forServer server: String) throws -> String {
        guard server.hasPrefix("tcp://"), let colon = server.lastIndex(of: ":"),
              let p = Int(server[server.index(after: colon)...]), p > 0, p + 2 < 65536 else {
            throw IRNError("server address must look like tcp://HOST:PORT, got '\(server)'")
        }
        return "\(server[..<colon]):\(p + 2)"
    }

    public static func fetch(server: String, timeoutSeconds: Double = 3, context: Context? = nil) throws -> String {
        let ctx = try context ?? Context()
        let req = try ctx.socket(.req)
        defer { req.close() }
        let endpoint = try statsEndpoint(forServer: server)
        try req.connect(endpoint)
        try req.send(WireFormat.encode(.statsRequest, senderRunId: 0))
        guard try poll([req], timeoutMs: Int(timeoutSeconds * 1000))[0], let frames = try req.receive(dontWait: true) else {
            // Named by the address the user typed: P+2 is an implementation detail.
            throw IRNError("no answer from irn-server \(server) within \(timeoutSeconds) s (asked its stats port P+2, \(endpoint)); is irn-server running there, on that port?")
        }
        let env: WireEnvelope
        do { env = try WireFormat.decode(frames) } catch {
            throw IRNError("bad stats reply from \(server) (stats port \(endpoint)): \(error)")
        }
        guard case .statsReply(let json) = env.message else {
            throw IRNError("unexpected \(env.message.kind) from \(server) (stats port \(endpoint))")
        }
        return json
    }
}
