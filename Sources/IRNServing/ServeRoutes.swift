import Foundation
import Hummingbird
import IRNSupport

/// The endpoints: recommend (stateless), session events (stateful), health, metrics, the
/// page and its two JSON feeds (model info, cluster curves).
struct ServeRoutes: Sendable {
    let backend: ServeBackend
    let options: ServeHTTPOptions

    func add(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in ServingHTTP.text(WebPage.html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in ServingHTTP.text(WebPage.script, type: "application/javascript; charset=utf-8") }
        router.get("/healthz") { _, _ in
            ServingHTTP.json("{\"status\":\"ok\",\"model_version\":\(backend.batcher.currentModel.version)}\n")
        }
        router.get("/metrics") { _, _ in
            ServingHTTP.text(backend.metrics.render(), type: "text/plain; version=0.0.4")
        }
        router.get("/v1/info") { _, _ in ServingHTTP.json(info()) }
        router.get("/v1/cluster") { _, _ in
            ServingHTTP.json(backend.follower?.historyJSON() ?? "{\"follow\":null,\"points\":[]}")
        }
        router.post("/v1/recommend") { request, _ in
            let data = try await read(request)
            let body = try data.withUnsafeBytes { RecommendBody.fastParse($0) } ?? JSONBodies.decode(RecommendBody.self, from: data)
            guard body.session.count <= options.maxSessionItems else {
                throw BadRequest("session has \(body.session.count) items; at most \(options.maxSessionItems)")
            }
            let k = try checkK(body.k)
            let (known, unknown) = backend.items.resolve(body.session)
            let r = await backend.batcher.submit(ServeJob(kind: .recommend(items: known), k: k, excludeSeen: body.exclude_seen ?? false))
            return ServingHTTP.json(JSONBodies.result(r, items: backend.items, unknown: unknown))
        }
        router.post("/v1/sessions/:id/events") { request, context in
            guard let id = context.parameters.get("id"), !id.isEmpty, id.utf8.count <= 128 else {
                throw BadRequest("session id must be 1 to 128 characters")
            }
            let body = try JSONBodies.decode(EventBody.self, from: try await read(request))
            let k = try checkK(body.k)
            let dense = backend.items.dense(body.item)
            let r = await backend.batcher.submit(ServeJob(kind: .event(session: id, item: dense), k: k, excludeSeen: body.exclude_seen ?? false))
            return ServingHTTP.json(JSONBodies.result(r, items: backend.items, unknown: dense == nil ? [body.item] : [], session: id))
        }
    }

    private func read(_ request: Request) async throws -> Data {
        if let len = request.headers[.contentLength].flatMap(Int.init), len > options.maxBody {
            throw BadRequest("request body of \(len) bytes is over the limit of \(options.maxBody)", status: 413)
        }
        do {
            let buffer = try await request.body.collect(upTo: options.maxBody)
            return Data(buffer.readableBytesView)
        } catch {
            throw BadRequest("request body is over the limit of \(options.maxBody) bytes", status: 413)
        }
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
}
