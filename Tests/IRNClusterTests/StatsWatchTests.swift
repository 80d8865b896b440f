import Foundation
import XCTest
import IRNServer
import IRNSupport

/// `irn stats --watch` into a pipe: each table arrives while the command still runs (it was
/// block-buffered: nothing until 4 KB had gathered) and starts with a header line naming the
/// server and the time (tables were appended without separation).
final class StatsWatchTests: XCTestCase {
    func testWatchIntoAPipeSeparatesAndFlushesEachTable() throws {
        let server = try ParameterServer(config: toyServerConfig(shards: [10]), store: toyStore(sessions: 10), logger: quietLogger("server"))
        let serverRun = Runner("server") { try server.run() }
        let endpoint = "tcp://127.0.0.1:\(server.port)"
        let p = Process()
        p.executableURL = try builtBinaries(self).appendingPathComponent("irn")
        p.arguments = ["stats", "--server", endpoint, "--watch", "0.2"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let text = Locked("")
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            text.withLock { $0 += String(decoding: d, as: UTF8.self) }
        }
        try p.run()
        defer {
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
            out.fileHandleForReading.readabilityHandler = nil
            server.requestStop()
            _ = serverRun.wait(60)
        }
        let header = "== \(endpoint) at "
        try waitUntil(60, "two tables from `irn stats --watch` while it runs") {
            text.current.components(separatedBy: "\n").filter { $0.hasPrefix(header) }.count >= 2
        }
        XCTAssertTrue(p.isRunning)
        let lines = text.current.components(separatedBy: "\n")
        XCTAssertTrue(lines[0].hasPrefix(header), "the first line is a header: \(lines[0])")
    }
}
