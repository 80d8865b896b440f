import Foundation
import IRNSupport

/// `POST /v1/recommend` body.
struct RecommendBody: Decodable, Equatable {
    var session: [Int64]
    var k: Int?
    var exclude_seen: Bool?
}

extension RecommendBody {
    /// The common shape without Foundation's decoder (which costs ~5 µs a request): an object
    /// with "session" (an array of integers) and optionally "k" (an integer) and
    /// "exclude_seen" (true / false), once each, JSON whitespace anywhere. Anything else —
    /// other keys, null, escapes, fractions, exponents, leading zeros, more than 18 digits,
    /// malformed input — returns nil and the caller decodes with `JSONBodies.decode`, so the
    /// answers and error messages are the decoder's.
    static func fastParse(_ b: UnsafeRawBufferPointer) -> RecommendBody? {
        var i = 0
        let n = b.count
        func ws() { while i < n, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        func eat(_ c: UInt8) -> Bool { ws(); if i < n && b[i] == c { i += 1; return true }; return false }
        func int() -> Int64? {
            ws()
            var neg = false
            if i < n && b[i] == 0x2D { neg = true; i += 1 }
            let start = i
            var v: Int64 = 0
            while i < n, b[i] >= 0x30, b[i] <= 0x39 {
                if i - start == 18 { return nil }  // (18 digits always fit in Int64)
                v = v * 10 + Int64(b[i] - 0x30)
                i += 1
            }
            let len = i - start
            if len == 0 || (len > 1 && b[start] == 0x30) { return nil }
            if i < n, b[i] == 0x2E || b[i] == 0x65 || b[i] == 0x45 { return nil }
            return neg ? -v : v
        }
        func literal(_ word: StaticString) -> Bool {
            let w = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            guard i + w.count <= n else { return false }
            for j in 0..<w.count where b[i + j] != w[j] { return false }
            i += w.count
            return true
        }
        var session: [Int64]?, k: Int?, exclude: Bool?
        guard eat(0x7B) else { return nil }
        if eat(0x7D) { return nil }  // {}: no session, the decoder names the missing field
        repeat {
            guard eat(0x22) else { return nil }
            let ks = i
            while i < n && b[i] != 0x22 && b[i] != 0x5C { i += 1 }
            guard i < n, b[i] == 0x22 else { return nil }
            let key = UnsafeRawBufferPointer(rebasing: b[ks..<i])
            i += 1
            guard eat(0x3A) else { return nil }
            if key.elementsEqual("session".utf8) {
                guard session == nil, eat(0x5B) else { return nil }
                var items: [Int64] = []
                if !eat(0x5D) {
                    repeat { guard let v = int() else { return nil }; items.append(v) } while eat(0x2C)
                    guard eat(0x5D) else { return nil }
                }
                session = items
            } else if key.elementsEqual("k".utf8) {
                guard k == nil, let v = int() else { return nil }
                k = Int(v)
            } else if key.elementsEqual("exclude_seen".utf8) {
                guard exclude == nil else { return nil }
                ws()
                if literal("true") { exclude = true } else if literal("false") { exclude = false } else { return nil }
            } else {
                return nil
            }
        } while eat(0x2C)
        guard eat(0x7D) else { return nil }
        ws()
        guard i == n, let session else { return nil }
        return RecommendBody(session: session, k: k, exclude_seen: exclude)
    }
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
