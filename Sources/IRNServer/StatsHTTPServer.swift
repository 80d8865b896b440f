import Dispatch
import Foundation
import Hummingbird
import IRNSupport
import Logging
import ServiceLifecycle

/// The server's HTTP face on P+3, served by Hummingbird on its own threads: `GET /metrics`
/// (Prometheus text) and `GET /stats` (the JSON of `irn stats`), both read from the
/// `StatsBoard` the server's loop publishes to.
final class StatsHTTPServer: Sendable {
    private let task: Task<Void, Never>
    private let group: ServiceGroup

    /// Binds `host:port` and serves until `stop()`; throws if the port cannot be bound.
    init(host: String, port: Int, board: StatsBoard, logger: Logger) throws {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            let s = await board.fresh()
            return Self.response(s.prometheus, type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("stats") { _, _ -> Response in
            let s = await board.fresh()
            return Self.response(s.json, type: "application/json")
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let started = Locked<Result<Void, Error>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { _ in
                started.withLock { $0 = .success(()) }
                ready.signal()
            },
            logger: quiet
        )
        // Our own group (no signal handlers: the server handles SIGTERM itself), so `stop` can
        // shut it down gracefully instead of cancelling it mid-close.
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quiet))
        self.group = group
        task = Task.detached {
            do {
                try await group.run()
            } catch {
                let first = started.withLock { s -> Bool in
                    if s == nil { s = .failure(error); return true }
                    return false
                }
                if first { ready.signal() } else { logger.error("HTTP server stopped", metadata: ["reason": "\(error)"]) }
            }
        }
        ready.wait()
        if case .failure(let error)? = started.current {
            throw IRNError("cannot serve HTTP on \(host):\(port): \(error)")
        }
    }

    /// Stops serving (connections in flight are finished) and waits for the port to be free.
    func stop() {
        let done = DispatchSemaphore(value: 0)
        let (t, g) = (task, group)
        Task.detached {
            await g.triggerGracefulShutdown()
            await t.value
            done.signal()
        }
        done.wait()
    }

    private static func response(_ body: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
