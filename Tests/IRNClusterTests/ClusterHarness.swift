import Foundation
import XCTest
import IRNActor
import IRNServer
import IRNWire

/// Runs a server or an actor on a thread of its own and lets the test wait for it.
final class Runner<R: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<R, Error>?

    init(_ name: String, _ body: @escaping @Sendable () throws -> R) {
        let t = Thread { [self] in
            do { self.result = .success(try body()) } catch { self.result = .failure(error) }
            self.done.signal()
        }
        t.name = name
        t.start()
    }

    /// Waits up to `timeout` seconds; nil on timeout.
    func wait(_ timeout: Double) -> Result<R, Error>? {
        done.wait(timeout: .now() + timeout) == .success ? result : nil
    }
}

/// The directory with the irn, irn-server and irn-actor of this test build (IRN_BIN_DIR, or
/// next to the test bundle); skips the test when they are not built.
func builtBinaries(_ test: XCTestCase) throws -> URL {
    if let dir = ProcessInfo.processInfo.environment["IRN_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    let bundle = Bundle(for: type(of: test)).bundleURL
    for dir in [bundle, bundle.deletingLastPathComponent()] where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("irn-server").path) {
        return dir
    }
    throw XCTSkip("irn, irn-server and irn-actor are not built next to the tests (\(bundle.path)); run swift build first")
}

/// A fresh empty directory under the temporary directory, named by `tag` and this process.
func freshTempDirectory(_ tag: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("irn-\(tag)-\(getpid())")
    try? FileManager.default.removeItem(at: d)
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

func waitUntil(_ timeout: Double, _ what: String, _ cond: () -> Bool) throws {
    let end = Date().addingTimeInterval(timeout)
    while !cond() {
        if Date() > end { throw TestTimeout(what: what) }
        usleep(10_000)
    }
}

func stats(_ server: ParameterServer) throws -> [String: Any] {
    let json = try StatsClient.fetch(server: "tcp://127.0.0.1:\(server.port)")
    return try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
}

func toyServerConfig(shards: [UInt64], epochs: UInt32 = 1) -> ServerConfig {
    var c = ServerConfig()
    c.port = 0
    c.shardSizes = shards
    c.epochs = epochs
    c.heartbeatTimeout = clusterTestHeartbeatTimeout
    c.targetEvery = 10
    c.finishGrace = 0.3
    return c
}

func toyStore(sessions: Int) -> ToyStore {
    ToyStore(params: [.dense("visits", shape: [sessions, 1], values: Array(repeating: 0, count: sessions)),
                      .dense("w", shape: [2], values: [0, 0])], lr: -1)
}

func actorConfig(_ server: ParameterServer, id: String) -> ActorConfig {
    var a = ActorConfig(server: "tcp://127.0.0.1:\(server.port)", actorId: id, host: "loopback")
    a.heartbeatInterval = 0.1
    a.helloRetry = 0.3
    return a
}

/// The server's heartbeat timeout in these tests. Actors heartbeat every 0.1 s; on a loaded
/// 2-core CI machine a debug actor can still be descheduled for a second, and a live actor
/// that times out breaks exact counts (timeouts, joins, who applied what). Tests of the
/// timeout path pay this once.
let clusterTestHeartbeatTimeout = 3.0

/// Holds producers' first gradients until the test opens it (e.g. once every actor has
/// joined), so one actor cannot finish the whole run before another is even connected. It
/// opens by itself after `maxWait` seconds: a producer blocked longer would stop its actor's
/// heartbeats.
final class StartGate: @unchecked Sendable {
    private let state = NSCondition()
    private var isOpen = false
    let maxWait: Double

    init(maxWait: Double = 2) { self.maxWait = maxWait }

    func open() {
        state.lock()
        isOpen = true
        state.broadcast()
        state.unlock()
    }

    func pass() {
        state.lock()
        defer { state.unlock() }
        let end = Date().addingTimeInterval(maxWait)
        while !isOpen && state.wait(until: end) {}
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}
