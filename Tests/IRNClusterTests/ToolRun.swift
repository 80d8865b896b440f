import Foundation
import XCTest

/// What one run of a built executable printed and how it ended.
struct ToolRun {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Non-empty lines of stderr.
    var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { !$0.isEmpty } }
}

/// Runs `irn`, `irn-server` or `irn-actor` from the build, reading both pipes while it runs
/// (a full pipe would block it) and killing it after `timeout` seconds, which fails the test:
/// a command that should fail at once must not hang.
func runTool(_ test: XCTestCase, _ tool: String, _ args: [String], timeout: Double = 120,
             file: StaticString = #filePath, line: UInt = #line) throws -> ToolRun {
    let p = Process()
    p.executableURL = try builtBinaries(test).appendingPathComponent(tool)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        p.terminate()
        _ = group.wait(timeout: .now() + 10)
        XCTFail("\(tool) \(args.joined(separator: " ")) still ran after \(timeout) s", file: file, line: line)
    }
    p.waitUntilExit()
    return ToolRun(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
}
