import Foundation
import IRNSupport

/// `POST /v1/recommend` body.
struct RecommendBody: Decodable {
    var session: [Int64]
    var k: Int?
    var exclude_seen: Bool?
}

/// `POST /v1/sessions/{id}/events` body.
struct EventBody: Decodable {
    var item: Int64
    var k: Int?
    var exclude_seen: Bool?
}

/// A client mistake: answered with `status` and a one-line JSON reason, never a crash.
struct BadRequest: Error {
    var status: Int
    var reason: String
    init(_ reason: String, status: Int = 400) {
        self.status = status
        self.reason = reason
    }
}

enum JSONBodies {
    /// Decodes `T`, turning decoder errors into one-line reasons that name the field.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if data.isEmpty { throw BadRequest("empty body: send a JSON object") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let e as DecodingError {
            throw BadRequest(reason(e))
        } catch {
            throw BadRequest("malformed JSON")
        }
    }

    static func reason(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.hasPrefix(".") ? String(p.dropFirst()) : p
        }
        switch e {
        case .keyNotFound(let key, _):
            return "missing field '\(key.stringValue)'"
        case .typeMismatch(let t, let c), .valueNotFound(let t, let c):
            let want = t == Int64.self || t == Int.self ? "an integer" : t == Bool.self ? "true or false"
                : String(describing: t).hasPrefix("Array") ? "an array" : "a JSON object"
            return path(c).isEmpty ? "the body must be \(want)" : "field '\(path(c))' must be \(want)"
        case .dataCorrupted(let c):
            if c.codingPath.isEmpty { return "malformed JSON" }
            return "field '\(path(c))' must be an integer that fits in 64 bits"
        @unknown default:
            return "malformed JSON"
        }
    }

    /// A JSON number for a score (non-finite scores have no JSON form: null).
    static func number(_ f: Float) -> String { f.isFinite ? "\(f)" : "null" }


    /// The answer to a recommend or event request, in original item ids.
    static func result(_ r: ServeResult, items map: ItemMap, unknown: [Int64], session: String? = nil) -> String {
        var s = "{\"items\":["
        for (i, it) in r.items.enumerated() { if i > 0 { s += "," }; s += String(map.original(it)) }
        s += "],\"scores\":["
        for (i, v) in r.scores.enumerated() { if i > 0 { s += "," }; s += number(v) }
        s += "]"
        if let rs = r.repeatScores {
            s += ",\"repeat_scores\":["
            for (i, v) in rs.enumerated() { if i > 0 { s += "," }; s += number(v) }
            s += "]"
        }
        s += ",\"model_version\":\(r.modelVersion),\"unknown_items\":["
        for (i, u) in unknown.enumerated() { if i > 0 { s += "," }; s += String(u) }
        s += "]"
        if let session { s += ",\"session\":\(JSONText.quoted(session))" }
        if let n = r.sessionLength { s += ",\"session_length\":\(n)" }
        return s + "}"
    }
}
