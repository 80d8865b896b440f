import Foundation
import XCTest
import IRNAgents
import IRNNumerics
import IRNServing

/// Where `swift build` put the executables (next to the test bundle), or IRN_BIN_DIR.
func serveBinDir() throws -> URL {
    if let dir = ProcessInfo.processInfo.environment["IRN_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    let bundle = Bundle(for: ServeProcessHandle.self).bundleURL
    for dir in [bundle, bundle.deletingLastPathComponent()] where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("irn").path) {
        return dir
    }
    throw XCTSkip("irn not built next to the tests; run swift build first")
}

func serveTempDirectory(_ tag: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("irn-serve-\(tag)-\(getpid())")
    try? FileManager.default.removeItem(at: d)
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

/// The shared data directory (IRN_SHARED_DATA, else ../shared/data beside the package).
func sharedDataDirectory() -> URL {
    if let env = ProcessInfo.processInfo.environment["IRN_SHARED_DATA"] { return URL(fileURLWithPath: env) }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/data")
}

/// An agent model with seeded random weights (what is served does not need training).
func writeRandomAgent(items: Int, hidden: Int, repeatHead: Bool, to url: URL, seed: UInt64 = 1) throws -> AgentCheckpoint {
    var config = AgentConfig(algorithm: .irnP, items: items)
    config.hidden = hidden
    if repeatHead { config.head = .repeatAware() }
    let ck = AgentCheckpoint(config: config, parameters: NetworkParameters(shape: config.shape, seed: seed), epoch: 0)
    try ck.write(to: url)
    return ck
}

/// A real `irn serve` process on port 0; stopped (SIGTERM, then waited for) by `stop()`.
final class ServeProcessHandle: @unchecked Sendable {
    let process = Process()
    let port: Int
    let log: URL

    init(_ arguments: [String], log: URL, timeout: Double = 120) throws {
        let bin = try serveBinDir()
        process.executableURL = bin.appendingPathComponent("irn")
        process.arguments = ["serve", "--port", "0"] + arguments
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        process.standardOutput = h
        process.standardError = h
        try process.run()
        let end = Date().addingTimeInterval(timeout)
        var found: Int?
        while found == nil {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let r = text.range(of: "listening on http://127.0.0.1:") {
                found = Int(text[r.upperBound...].prefix { $0.isNumber })
            }
            if found == nil {
                if !process.isRunning || Date() > end {
                    process.terminate()
                    throw ServeTestError("irn serve did not start: \(text)")
                }
                usleep(20_000)
            }
        }
        port = found!
    }

    var isRunning: Bool { process.isRunning }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    func connection() throws -> RawHTTPConnection { try RawHTTPConnection(port: port) }

    /// One request on a fresh connection; the body parsed as JSON when it is an object.
    func call(_ raw: [UInt8]) throws -> (status: Int, json: [String: Any]?, body: String) {
        let r = try connection().send(raw)
        let obj = try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
        return (r.status, obj, r.body)
    }

    func post(_ path: String, _ json: String) throws -> (status: Int, json: [String: Any]?, body: String) {
        try call(RawHTTPConnection.post(path, json: json))
    }

    /// One Prometheus sample's value (first line starting with `name`).
    func metric(_ name: String) throws -> Double? {
        let r = try call(RawHTTPConnection.get("/metrics"))
        for line in r.body.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }
}

struct ServeTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func waitFor(_ seconds: Double, _ what: String, _ cond: () throws -> Bool) throws {
    let end = Date().addingTimeInterval(seconds)
    while try !cond() {
        if Date() > end { throw ServeTestError("timed out waiting for \(what)") }
        usleep(50_000)
    }
}

func ints(_ v: Any?) -> [Int64] { (v as? [Any])?.compactMap { ($0 as? NSNumber)?.int64Value } ?? [] }

/// Runs `body(0..<n)` on n threads at once (concurrentPerform would cap them at the cores).
func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for w in 0..<n {
        group.enter()
        Thread { body(w); group.leave() }.start()
    }
    group.wait()
}
