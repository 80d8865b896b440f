import Foundation
import Hummingbird
import IRNSupport
import Logging

/// Limits and addresses of `irn serve`'s HTTP side.
public struct ServeHTTPOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Request bodies over this many bytes get 413.
    public var maxBody = 64 * 1024
    /// Largest k a client may ask for (also capped by the item count).
    public var maxK = 1000
    /// Longest session `POST /v1/recommend` accepts.
    public var maxSessionItems = 1000
    public init() {}
}

/// Everything the routes need: the batcher (model + sessions), the item map, metrics, and
/// in follow mode the cluster follower (live stats for the page).
public struct ServeBackend: Sendable {
    public var batcher: Batcher
    public var items: ItemMap
    public var metrics: ServingMetrics
    /// Original ids the page offers to click first (most popular when data was given).
    public var sampleItems: [Int64]
    public var follower: ClusterFollower?

    public init(batcher: Batcher, items: ItemMap, metrics: ServingMetrics, sampleItems: [Int64], follower: ClusterFollower? = nil) {
        self.batcher = batcher
        self.items = items
        self.metrics = metrics
        self.sampleItems = sampleItems
        self.follower = follower
    }
}

public enum ServingHTTP {
    /// Runs the HTTP server until SIGINT / SIGTERM. `onListening` gets the bound port (the
    /// command prints it: tests and scripts start the server on port 0 and read it).
    public static func run(_ backend: ServeBackend, options: ServeHTTPOptions,
                           onListening: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "irn.serve")
        logger.logLevel = .warning
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(ServeMiddleware(metrics: backend.metrics))
        ServeRoutes(backend: backend, options: options).add(to: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "irn-serve"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? options.port) },
            logger: logger)
        try await app.runService()
    }

    static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func text(_ body: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func error(_ status: Int, _ reason: String) -> Response {
        let oneLine = reason.replacingOccurrences(of: "\n", with: " ")
        return json("{\"error\":\(JSONText.quoted(oneLine))}\n", status: HTTPResponse.Status(code: status))
    }
}

/// Times and counts every request, and turns every error into a 4xx/5xx with a one-line
/// JSON reason (unknown routes included: the router's not-found passes through here).
struct ServeMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServingMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = monotonicSeconds()
        let path = request.uri.path
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as BadRequest {
            response = ServingHTTP.error(e.status, e.reason)
        } catch let e as HTTPError {
            if e.status == .notFound && e.body == nil {
                response = ServingHTTP.error(404, "no route \(request.method) \(path.prefix(100)); see GET / or docs/serving.md")
            } else {
                response = ServingHTTP.error(e.status.code, e.body ?? e.status.reasonPhrase)
            }
        } catch let e as any HTTPResponseError {
            response = ServingHTTP.error(e.status.code, e.status == .contentTooLarge ? "request body too large" : e.status.reasonPhrase)
        } catch {
            response = ServingHTTP.error(500, "internal error: \(error)")
        }
        metrics.observeRequest(route: Self.route(path), status: response.status.code, seconds: monotonicSeconds() - start)
        return response
    }

    /// A bounded set of labels (never the raw path: session ids would blow up the series).
    static func route(_ path: String) -> String {
        switch path {
        case "/v1/recommend": return "recommend"
        case "/healthz": return "healthz"
        case "/metrics": return "metrics"
        case "/", "/app.js": return "page"
        case "/v1/info": return "info"
        case "/v1/cluster": return "cluster"
        default: return path.hasPrefix("/v1/sessions/") ? "session_event" : "other"
        }
    }
}
