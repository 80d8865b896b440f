import Foundation
import IRNSupport

/// `irn serve` started as a child process on port 0; the port is read from its first line.
final class ServeProcess {
    let process = Process()
    let port: Int

    init(irn: String, arguments: [String], timeout: Double = 60) throws {
        let exe = irn.contains("/") ? irn : (try? Self.which(irn)) ?? irn
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var text = ""
        let end = monotonicSeconds() + timeout
        var found: Int?
        while found == nil && monotonicSeconds() < end && process.isRunning {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { usleep(10_000); continue }
            text += String(decoding: chunk, as: UTF8.self)
            if let r = text.range(of: "listening on http://"), let colon = text[r.upperBound...].firstIndex(of: ":") {
                found = Int(text[text.index(after: colon)...].prefix { $0.isNumber })
            }
        }
        guard let found else {
            process.terminate()
            throw IRNError("irn serve did not start listening within \(Int(timeout)) s: \(text)")
        }
        port = found
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    static func which(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw IRNError("\(name) not found on PATH")
    }
}

/// Runs wrk with a Lua script that cycles through the benchmark's request bodies.
enum WrkRun {
    struct Result {
        var perSecond: Double
        var p50: Double, p90: Double, p99: Double
        var errors: Int
    }

    static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        return try? ServeProcess.which(name)
    }

    static func writeScript(_ bodies: [String], to url: URL) throws {
        let list = bodies.map { "[[\($0)]]" }.joined(separator: ",\n")
        try """
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        local bodies = {\(list)}
        local i = 0
        request = function()
          i = i + 1
          return wrk.format(nil, "/v1/recommend", nil, bodies[(i % #bodies) + 1])
        end
        """.write(to: url, atomically: true, encoding: .utf8)
    }

    static func run(_ wrk: String, port: Int, threads: Int, connections: Int, seconds: Double, script: URL) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: wrk)
        p.arguments = ["-t\(threads)", "-c\(connections)", "-d\(max(1, Int(seconds)))s", "--latency", "-s", script.path, "http://127.0.0.1:\(port)/v1/recommend"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        var r = Result(perSecond: 0, p50: .nan, p90: .nan, p99: .nan, errors: 0)
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 2 else { continue }
            if f[0] == "Requests/sec:" { r.perSecond = Double(f[1]) ?? 0 }
            if f[0] == "50%" { r.p50 = duration(f[1]) }
            if f[0] == "90%" { r.p90 = duration(f[1]) }
            if f[0] == "99%" { r.p99 = duration(f[1]) }
            if f[0] == "Non-2xx" { r.errors = Int(f.last ?? "") ?? 0 }
        }
        return r
    }

    /// wrk's "812.00us", "1.23ms", "2.01s" in seconds.
    static func duration(_ s: Substring) -> Double {
        for (unit, scale) in [("us", 1e-6), ("ms", 1e-3), ("s", 1.0)] where s.hasSuffix(unit) {
            return (Double(s.dropLast(unit.count)) ?? .nan) * scale
        }
        return .nan
    }
}
