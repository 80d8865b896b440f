import Foundation
import XCTest

/// cluster/slurm.sbatch on a real single-node Slurm (slurmctld, slurmd, munge started in a
/// temporary directory by scripts/slurm-selftest): self-test job scaled by an actor job, a
/// time-limit stop, an IRN-P run cancelled and resumed. Skipped where Slurm cannot run.
final class SlurmTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testBatchFileOnSingleNodeSlurm() throws {
        let bin = try builtBinaries(self)
        guard getuid() == 0 else { throw XCTSkip("Slurm test needs root (it starts slurmctld, slurmd and munged)") }
        let p = Process()
        p.executableURL = Self.packageRoot.appendingPathComponent("scripts/slurm-selftest")
        p.arguments = ["--bin", bin.path]
        p.currentDirectoryURL = Self.packageRoot
        // Output to a file, not a pipe: daemons and jobs the script starts must not hold it.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("irn-slurm-test-\(getpid()).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle
        p.standardError = handle
        let started = Date()
        try p.run()
        p.waitUntilExit()
        try handle.close()
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        if p.terminationStatus == 77 {
            let reason = text.split(separator: "\n").last(where: { $0.contains("cannot run Slurm") }).map(String.init) ?? text
            throw XCTSkip(reason)
        }
        XCTAssertEqual(p.terminationStatus, 0, text)
        print("slurm-selftest: \(Int(Date().timeIntervalSince(started))) s\n\(text)")
    }
}
