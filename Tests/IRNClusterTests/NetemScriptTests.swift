import Foundation
import XCTest

/// scripts/cluster-netem-bench: server and an actor in network namespaces over a veth pair
/// shaped by tc; a small model so that the debug build finishes in seconds.
final class NetemScriptTests: XCTestCase {
    func testRateLimitedNamespacesRun() throws {
        let bin = try builtBinaries(self)
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/tc") || FileManager.default.isExecutableFile(atPath: "/sbin/tc") else {
            throw XCTSkip("needs root and iproute2 (ip, tc) for network namespaces and rate limits")
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("irn-netem-test-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        let p = Process()
        p.executableURL = root.appendingPathComponent("scripts/cluster-netem-bench")
        p.arguments = ["--actors", "1", "--rate", "100mbit", "--delay", "0.2ms", "--items", "300", "--sessions", "3000",
                       "--warmup", "6", "--seconds", "4", "--bin", bin.path, "--json", "--",
                       "--hidden", "16", "--batch", "8", "--push-windows", "2", "--push-precision", "bf16"]
        p.environment = ProcessInfo.processInfo.environment.merging(["IRN_NETEM_DIR": work.path]) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 77 { throw XCTSkip("the script cannot run here: \(errText)") }
        if errText.contains("Operation not permitted") || errText.contains("Cannot open network namespace") {
            throw XCTSkip("network namespaces are not allowed here: \(errText)")
        }
        XCTAssertEqual(p.terminationStatus, 0, errText)
        let r = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
        XCTAssertGreaterThan(r["events_per_s"] as? Double ?? 0, 0, text + errText)
        XCTAssertGreaterThan(r["push_bytes_per_event"] as? Double ?? 0, 0, text)
    }
}
