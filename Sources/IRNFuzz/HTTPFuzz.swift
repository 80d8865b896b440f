import Foundation

/// Fuzzes an HTTP port with requests built valid and then mutated (method, path, version,
/// headers, Content-Length lies, chunked garbage, JSON bodies with wrong types, deep nesting,
/// huge numbers, odd Unicode, truncated and oversized bodies), one connection each.
struct HTTPFuzzer {
    enum Profile: String { case server, serve }

    let host: String
    let port: Int
    let profile: Profile
    let seed: UInt64
    let timeout: Double

    init(url: String, profile: Profile, seed: UInt64, timeout: Double = 3) throws {
        guard let u = URL(string: url), let h = u.host, let p = u.port else {
            throw FuzzError("--http must look like http://HOST:PORT, got '\(url)'")
        }
        host = h
        port = p
        self.profile = profile
        self.seed = seed
        self.timeout = timeout
    }

    var validGets: [String] {
        profile == .server ? ["/stats", "/metrics"] : ["/healthz", "/metrics", "/v1/info", "/v1/cluster", "/", "/app.js"]
    }

    /// One valid request (method, path, body) of the profile.
    func validRequest(_ rng: inout FuzzRNG, items: [Int64]) -> (method: String, path: String, body: [UInt8]?) {
        if profile == .server || rng.chance(0.3) { return ("GET", rng.pick(validGets), nil) }
        let item = rng.pick(items)
        if rng.chance(0.5) {
            let session = (0..<rng.int(in: 1...5)).map { _ in String(rng.pick(items)) }.joined(separator: ",")
            return ("POST", "/v1/recommend", Array("{\"session\":[\(session)],\"k\":\(rng.int(in: 1...5))}".utf8))
        }
        return ("POST", "/v1/sessions/fuzz-\(rng.int(50))/events", Array("{\"item\":\(item),\"k\":3}".utf8))
    }

    static func request(_ method: String, _ path: String, version: String = "HTTP/1.1", headers: [String], body: [UInt8]?) -> [UInt8] {
        var text = "\(method) \(path) \(version)\r\n"
        for h in headers { text += h + "\r\n" }
        return Array((text + "\r\n").utf8) + (body ?? [])
    }

    /// JSON bodies that are wrong in one way each.
    func badJSON(_ rng: inout FuzzRNG, items: [Int64]) -> (body: [UInt8], mutation: String) {
        let item = rng.pick(items)
        switch rng.int(12) {
        case 0: return (Array(rng.pick(["{\"session\":\"\(item)\"}", "{\"session\":[\"\(item)\"]}", "{\"session\":[\(item)],\"k\":\"5\"}",
                                         "{\"item\":[\(item)]}", "{\"session\":[true]}", "{\"session\":null}", "[]", "42", "\"x\"",
                                         "{\"session\":[\(item)],\"exclude_seen\":\"yes\"}", "{\"item\":{}}"]).utf8), "json.wrong_types")
        case 1:
            let depth = rng.pick([100, 1000, 10_000, 30_000])
            let open = rng.chance(0.5) ? "[" : "{\"a\":"
            let close = open == "[" ? "]" : "}"
            return (Array(("{\"session\":" + String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth) + "}").utf8), "json.deep_nesting")
        case 2: return (Array(rng.pick(["{\"session\":[1e400]}", "{\"session\":[123456789012345678901234567890]}", "{\"session\":[\(item)],\"k\":1e999}",
                                         "{\"session\":[\(item)],\"k\":-9223372036854775809}", "{\"item\":18446744073709551616}", "{\"session\":[-0.0]}",
                                         "{\"session\":[\(item)],\"k\":9223372036854775807}", "{\"session\":[\(item)],\"k\":0}", "{\"session\":[\(item)],\"k\":-1}",
                                         "{\"session\":[1.5]}", "{\"item\":NaN}", "{\"item\":Infinity}"]).utf8), "json.huge_numbers")
        case 3: return (Array(rng.pick(["{\"session\":[\(item)],\"x\":\"\u{0}\"}", "{\"s\u{0301}ession\":[\(item)]}", "{\"session\":[\(item)],\"note\":\"🙂\u{202E}\"}",
                                         "{\"session\":[\(item)],\"x\":\"\\ud800\"}", "{\"session\":[\(item)],\"x\":\"\\u0000\"}"]).utf8), "json.unicode")
        case 4: return ([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], "json.invalid_utf8")
        case 5:
            let good = Array("{\"session\":[\(item),\(item)],\"k\":3}".utf8)
            return (Array(good.prefix(rng.int(good.count))), "json.truncated")
        case 6:
            let n = rng.pick([1000, 10_000, 200_000])
            return (Array(("{\"session\":[" + Array(repeating: String(item), count: n).joined(separator: ",") + "]}").utf8), "json.many_items")
        case 7:
            return (Array("{\"session\":[\(item)],\"pad\":\"".utf8) + Array(repeating: 0x61, count: rng.pick([70_000, 1 << 20])) + Array("\"}".utf8), "json.oversized")
        case 8:
            return (Array("{\"session\":[\(item)],\"session\":[1,2],\"k\":3,\"k\":4}".utf8), "json.duplicate_keys")
        case 9:
            return (Array(rng.pick(["{\"session\":[\(item)]", "{\"session\":[\(item),]}", "{session:[\(item)]}", "{'session':[1]}", "{\"session\":[\(item)]}}", ""]).utf8), "json.syntax")
        case 10:
            return (rng.bytes(rng.int(in: 1...512)), "json.random_bytes")
        default:
            return (Array("{\"session\":[\(Int64.max),\(Int64.min),0,-1],\"k\":3,\"exclude_seen\":true}".utf8), "json.extreme_ids")
        }
    }

    /// One request and its mutation name.
    func make(_ rng: inout FuzzRNG, items: [Int64]) -> (bytes: [UInt8], mutation: String) {
        var (method, path, body) = validRequest(&rng, items: items)
        var version = "HTTP/1.1"
        var headers = ["Host: \(host):\(port)", "Connection: close"]
        var mutation = "valid"
        var chunked: [UInt8]?
        let family = rng.int(100)
        if family < 10 {
            // valid
        } else if family < 20 {
            method = rng.pick(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "get", "G ET", "", "\u{1}", String(repeating: "X", count: 5000), "POST"])
            mutation = "request_line.method"
        } else if family < 32 {
            path = rng.pick([String(repeating: "/a", count: rng.pick([100, 5000, 40_000])), "/stats%00", "/../../../etc/passwd", "/v1/recommend?\(String(repeating: "k=1&", count: 500))",
                             "//stats", "stats", "*", "/🙂", "/%ZZ", "/v1/sessions/\(String(repeating: "x", count: 200))/events", "/v1/sessions//events",
                             "/v1/sessions/%2F%2E%2E/events", "/metrics#frag", "http://evil/stats", "/\u{7F}", "/ stats"])
            mutation = "request_line.path"
        } else if family < 38 {
            version = rng.pick(["HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1 extra", "HTTX/1.1", "", "HTTP/1.", "HTTP/01.01"])
            mutation = "request_line.version"
        } else if family < 62 {
            switch rng.int(9) {
            case 0:
                headers.append("Content-Length: \(rng.pick(["-1", "abc", "99999999999999999999999", "1e3", " 5", "0x10", "18446744073709551616"]))")
                mutation = "headers.content_length_invalid"
            case 1:
                headers.append("Content-Length: \((body?.count ?? 0) + rng.pick([1, 100, 1 << 20]))")
                mutation = "headers.content_length_too_big"
            case 2:
                headers.append("Content-Length: \(max(0, (body?.count ?? 0) - rng.int(in: 1...5)))")
                mutation = "headers.content_length_too_small"
            case 3:
                headers += ["Content-Length: 3", "Content-Length: \(body?.count ?? 0)"]
                mutation = "headers.content_length_twice"
            case 4:
                headers.append("Transfer-Encoding: chunked")
                chunked = Array(rng.pick(["zz\r\nabc\r\n0\r\n\r\n", "5\r\nab\r\n0\r\n\r\n", "FFFFFFFFFFFFFFFFFF\r\nx\r\n", "3;ext=\(String(repeating: "e", count: 9000))\r\nabc\r\n0\r\n\r\n",
                                          "-1\r\n\r\n", "4\r\n{\"a\"\r\n0\r\n", "0\r\nX-Trailer: \(String(repeating: "t", count: 100))\r\n\r\n"]).utf8)
                mutation = "headers.chunked_garbage"
            case 5:
                headers.append("X-Big: " + String(repeating: "b", count: rng.pick([9000, 70_000, 300_000])))
                mutation = "headers.huge_header"
            case 6:
                headers += (0..<rng.pick([200, 2000])).map { "X-H\($0): v" }
                mutation = "headers.many_headers"
            case 7:
                headers.append(rng.pick(["NoColonHere", ": empty-name", "Bad Name: v", "X-Nul: a\u{0}b", "X-Fold:\r\n folded", "Content-Type: application/json; charset=utf-9", "\u{1}: x"]))
                mutation = "headers.malformed_line"
            default:
                headers = rng.chance(0.5) ? [] : ["Host: a", "Host: b", "Connection: keep-alive, close, upgrade", "Upgrade: h2c", "Expect: 100-continue"]
                mutation = "headers.host_and_connection"
            }
        } else if family < 92 {
            if profile == .server {
                method = "POST"
                path = rng.pick(["/stats", "/metrics", "/"])
            } else {
                method = "POST"
                path = rng.chance(0.6) ? "/v1/recommend" : "/v1/sessions/fuzz-\(rng.int(50))/events"
            }
            let bad = badJSON(&rng, items: items)
            body = bad.body
            mutation = bad.mutation
        } else {
            return (rng.bytes(rng.int(in: 1...2000)), "random.bytes")
        }
        if let chunked {
            return (Self.request(method, path, version: version, headers: headers, body: chunked), mutation)
        }
        if let b = body, !headers.contains(where: { $0.lowercased().hasPrefix("content-length") }) && !mutation.hasPrefix("headers.host") {
            headers.append("Content-Length: \(b.count)")
            headers.append("Content-Type: application/json")
        }
        return (Self.request(method, path, version: version, headers: headers, body: body), mutation)
    }

    /// The status of one exchange: "200", "404", ..., or "closed_without_answer", "timeout".
    func exchange(_ bytes: [UInt8]) -> String? {
        guard let c = try? RawTCP(host: host, port: port, timeout: timeout) else { return nil }
        c.write(bytes)
        c.shutdownWrite()
        let (reply, end) = c.read(limit: 1 << 16) { b in b.count >= 12 && b.contains(0x0A) }
        if reply.count >= 12, let line = String(bytes: reply.prefix(while: { $0 != 0x0D && $0 != 0x0A }), encoding: .utf8), line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ")
            return parts.count >= 2 ? String(parts[1]) : "bad_status_line"
        }
        if end == .timedOut { return "timeout" }
        return reply.isEmpty ? "closed_without_answer" : "garbage_answer"
    }

    func run(messages: Int, items: [Int64], progress: (Int) -> Void = { _ in }) -> PortReport {
        var report = PortReport(port: "http://\(host):\(port)", protocolName: "http (\(profile.rawValue))")
        var rng = FuzzRNG(seed: seed, stream: profile == .server ? 10 : 11)
        let probe = Self.request("GET", profile == .server ? "/stats" : "/healthz", headers: ["Host: x", "Connection: close"], body: nil)
        // irn serve counts every request it answers by route and status (GET /metrics): read
        // before and after, to see which refusals it counted and which came from the HTTP layer.
        let countedBefore = profile == .serve ? appCounted() : nil
        var probes = 0
        for i in 0..<messages {
            let (bytes, mutation) = make(&rng, items: items)
            report.messages += 1
            report.byMutation.add(mutation)
            guard let answer = exchange(bytes) else {
                report.fail("message \(i) (\(mutation)): connection refused: server gone")
                break
            }
            if answer == "timeout" { report.timeouts += 1 }
            report.answers.add(answer)
            report.answersByMutation.add(mutation, answer)
            if answer.hasPrefix("5") { report.fail("message \(i) (\(mutation)): answered \(answer)") }
            if i % 500 == 499 {
                probes += 1
                if exchange(probe) != "200" { report.fail("after \(i + 1) messages: GET probe not answered 200") }
                progress(i + 1)
            }
        }
        let final = exchange(probe)
        report.extra["probe_after"] = final ?? "refused"
        if final != "200" { report.fail("after the run: GET probe answered \(final ?? "nothing (refused)")") }
        if let before = countedBefore, let after = appCounted() {
            // The probes and the first /metrics request are counted too (all 200).
            var counted = Tally(), outside = Tally()
            for (code, n) in after where n != (before[code] ?? 0) { counted.add(code, n - (before[code] ?? 0)) }
            counted.add("200", -(probes + 2))
            for (code, n) in report.answers.counts where Int(code) != nil {
                let d = n - counted[code]
                if d != 0 { outside.add(code, d) }
                if d < 0 && report.timeouts == 0 { report.fail("irn serve counted \(-d) more \(code) answers than it gave") }
            }
            report.extra["app_counted_by_status"] = counted.json
            report.extra["answered_outside_app_by_status"] = outside.json
            report.extra["not_answered"] = report.answers.counts.filter { Int($0.key) == nil }
        }
        return report
    }
}

extension HTTPFuzzer {
    /// irn serve's request counts by status code (summed over routes), from GET /metrics.
    func appCounted() -> [String: Int]? {
        guard let c = try? RawTCP(host: host, port: port, timeout: timeout) else { return nil }
        c.write(Self.request("GET", "/metrics", headers: ["Host: x", "Connection: close"], body: nil))
        let (reply, _) = c.read(limit: 1 << 22)
        guard let text = String(bytes: reply, encoding: .utf8), text.hasPrefix("HTTP/1.1 200") else { return nil }
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("irn_serve_requests_total{") {
            guard let r = line.range(of: "code=\""), let v = Int(line.split(separator: " ").last ?? "") else { continue }
            let code = String(line[r.upperBound...].prefix { $0 != "\"" })
            out[code, default: 0] += v
        }
        return out
    }
}

struct FuzzError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
