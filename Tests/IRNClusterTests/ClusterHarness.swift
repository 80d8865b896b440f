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
    c.heartbeatTimeout = 1.0
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

struct TestTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}
