import Foundation
import IRNSupport

/// An HTTP answer: status, content type, body.
struct HTTPAnswer: Sendable {
    var status: Int
    var type: String
    var body: String

    static func json(_ body: String, status: Int = 200) -> HTTPAnswer { HTTPAnswer(status: status, type: "application/json", body: body) }

    static func error(_ status: Int, _ reason: String) -> HTTPAnswer {
        json("{\"error\":\(JSONText.quoted(reason.replacingOccurrences(of: "\n", with: " ")))}\n", status: status)
    }
}

/// What a route does with a request: answer now, or score a job in the next batch and render
/// its result.
enum RouteOutcome: Sendable {
    case now(HTTPAnswer)
    case score(ServeJob, render: @Sendable (ServeResult) -> String)
}

/// The endpoints: recommend (stateless), session events (stateful), health, metrics, the
/// page and its two JSON feeds (model info, cluster curves). Independent of the HTTP
/// library: `ServingHTTP` parses requests and writes answers.
struct ServeRoutes: Sendable {
    let backend: ServeBackend
    let options: ServeHTTPOptions

    /// `body` is nil for requests without one.
    func route(method: String, path: String, body: UnsafeRawBufferPointer?) -> RouteOutcome {
        do {
            switch (method, path) {
            case ("GET", "/"): return .now(HTTPAnswer(status: 200, type: "text/html; charset=utf-8", body: WebPage.html))
            case ("GET", "/app.js"): return .now(HTTPAnswer(status: 200, type: "application/javascript; charset=utf-8", body: WebPage.script))
            case ("GET", "/healthz"):
                return .now(.json("{\"status\":\"ok\",\"model_version\":\(backend.batcher.currentModel.version)}\n"))
            case ("GET", "/metrics"): return .now(HTTPAnswer(status: 200, type: "text/plain; version=0.0.4", body: backend.metrics.render()))
            case ("GET", "/v1/info"): return .now(.json(info()))
            case ("GET", "/v1/cluster"): return .now(.json(backend.follower?.historyJSON() ?? "{\"follow\":null,\"points\":[]}"))
            case ("POST", "/v1/recommend"): return try recommend(body)
            default:
                if method == "POST", let id = Self.sessionId(path) { return try event(id, body) }
                return .now(.error(404, "no route \(method) \(path.prefix(100)); see GET / or docs/serving.md"))
            }
        } catch let e as BadRequest {
            return .now(.error(e.status, e.reason))
        } catch {
            return .now(.error(500, "internal error: \(error)"))
        }
    }

    private func recommend(_ body: UnsafeRawBufferPointer?) throws -> RouteOutcome {
        let b = try body.flatMap(RecommendBody.fastParse) ?? JSONBodies.decode(RecommendBody.self, from: Self.data(body))
        guard b.session.count <= options.maxSessionItems else {
            throw BadRequest("session has \(b.session.count) items; at most \(options.maxSessionItems)")
        }
        let k = try checkK(b.k)
        let (known, unknown) = backend.items.resolve(b.session)
        let items = backend.items
        return .score(ServeJob(kind: .recommend(items: known), k: k, excludeSeen: b.exclude_seen ?? false)) {
            JSONBodies.result($0, items: items, unknown: unknown)
        }
    }

    private func event(_ id: String, _ body: UnsafeRawBufferPointer?) throws -> RouteOutcome {
        guard !id.isEmpty, id.utf8.count <= 128 else { throw BadRequest("session id must be 1 to 128 characters") }
        let b = try JSONBodies.decode(EventBody.self, from: Self.data(body))
        let k = try checkK(b.k)
        let dense = backend.items.dense(b.item)
        let items = backend.items
        let unknown = dense == nil ? [b.item] : []
        return .score(ServeJob(kind: .event(session: id, item: dense), k: k, excludeSeen: b.exclude_seen ?? false)) {
            JSONBodies.result($0, items: items, unknown: unknown, session: id)
        }
    }

    /// `/v1/sessions/{id}/events` -> id (percent-decoded), else nil.
    static func sessionId(_ path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "v1", parts[2] == "sessions", parts[4] == "events" else { return nil }
        return String(parts[3]).removingPercentEncoding ?? String(parts[3])
    }

    private static func data(_ body: UnsafeRawBufferPointer?) -> Data {
        body.map { Data($0) } ?? Data()
    }

    private func checkK(_ k: Int?) throws -> Int {
        let maxK = min(options.maxK, backend.items.count)
        let k = k ?? min(10, maxK)
        guard k >= 1 && k <= maxK else { throw BadRequest("k must be between 1 and \(maxK), got \(k)") }
        return k
    }

    private func info() -> String {
        let m = backend.batcher.currentModel
        let sample = backend.sampleItems.map(String.init).joined(separator: ",")
        let follow = backend.follower.map { JSONText.quoted($0.server) } ?? "null"
        return "{\"model\":\(JSONText.quoted(m.name)),\"model_version\":\(m.version),\"items\":\(backend.items.count),"
            + "\"repeat_head\":\(m.hasRepeatHead),\"follow\":\(follow),\"max_k\":\(min(options.maxK, backend.items.count)),"
            + "\"sample_items\":[\(sample)]}"
    }

    /// A bounded set of metric labels (never the raw path: session ids would blow up the series).
    static func label(_ path: String) -> String {
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
