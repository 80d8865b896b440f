import Foundation
import XCTest
import IRNData

/// The real `irn`, `irn-server` and `irn-actor` fed the careless inputs of issue 15: each
/// answers with one line on stderr naming what was wrong, and the exit status of its kind
/// (`CommandMain`): 2 for a wrong command line, 1 for wrong input files or data. Nothing
/// crashes, hangs or names a flag the command does not have.
final class CarelessInputTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = try freshTempDirectory("careless-\(name.filter { $0.isLetter })")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// A prepared data set `irn train` and `irn eval` accept.
    func preparedData() throws -> String {
        let d = dir.appendingPathComponent("data")
        try tinyDataset(sessions: 40, items: 24, shards: 4).save(to: d)
        return d.path
    }

    /// One error line, prefixed by the tool's name, containing every one of `needles`.
    func assertOneLineError(_ r: ToolRun, status: Int32, tool: String = "irn", _ needles: [String],
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, "exit status; stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.errorLines.count, 1, "one line on stderr, got: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("\(tool): error: "), r.stderr, file: file, line: line)
        for n in needles { XCTAssertTrue(r.stderr.contains(n), "stderr lacks '\(n)': \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(r.stderr.contains("Usage:"), "no usage line: \(r.stderr)", file: file, line: line)
    }

    // MARK: wrong command lines: exit 2

    func testBadFlagValuesExitTwoWithOneLineNamingTheFlag() throws {
        let data = try preparedData()
        let train = ["train", "--data", data, "--out", dir.appendingPathComponent("m.safetensors").path]
        // Was: "Missing value for '--epochs <epochs>'".
        assertOneLineError(try runTool(self, "irn", train + ["--epochs", "-1"]), status: 2, ["--epochs must be at least 1", "irn train --help"])
        // Was: the message followed by the root command's usage line, exit 64.
        assertOneLineError(try runTool(self, "irn", train + ["--hidden", "0"]), status: 2, ["--hidden must be positive"])
        assertOneLineError(try runTool(self, "irn", train + ["--no-such-flag"]), status: 2, ["--no-such-flag"])
        assertOneLineError(try runTool(self, "irn", ["data", "prepare", "--out", dir.path, "--days", "-3", "--events", "x.tsv"]), status: 2,
                           ["--days", "irn data prepare --help"])
        assertOneLineError(try runTool(self, "irn-server", ["--data", data, "--epochs", "-1"]), status: 2, tool: "irn-server", ["--epochs"])
        assertOneLineError(try runTool(self, "irn-actor", ["--server", "tcp://127.0.0.1:1", "--threads", "0"]), status: 2, tool: "irn-actor", ["--threads"])
        // --help is not an error.
        let help = try runTool(self, "irn", ["train", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--epochs"))
    }

    // MARK: wrong files and data: exit 1

    func testEvalOfADirectoryIsAnErrorNotACrash() throws {
        let data = try preparedData()
        // Was: SIGILL in a `try!` inside Foundation's readData(ofLength:) (EISDIR).
        let r = try runTool(self, "irn", ["eval", "--data", data, "--model", dir.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.errorLines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("is a directory") && r.stderr.contains(dir.path), r.stderr)
    }

    func testOutInAMissingFolderNamesTheFileBeforeTraining() throws {
        let data = try preparedData()
        let out = dir.appendingPathComponent("no-such-folder/model.safetensors").path
        let r = try runTool(self, "irn", ["train", "--data", data, "--out", out, "--epochs", "1", "--hidden", "8", "--batch", "2"])
        assertOneLineError(r, status: 1, [out, "does not exist"])
        XCTAssertFalse(r.stderr.contains(".tmp-"), "names the temporary file: \(r.stderr)")
    }

    func testStatsAgainstNoServerNamesThePortTyped() throws {
        let r = try runTool(self, "irn", ["stats", "--server", "tcp://127.0.0.1:1", "--timeout", "0.3"])
        assertOneLineError(r, status: 1, ["tcp://127.0.0.1:1 "])
    }

    func testActorChecksDataBeforeConnecting() throws {
        // No server at that port: the check must come first, at once.
        let r = try runTool(self, "irn-actor", ["--server", "tcp://127.0.0.1:1", "--data", "/nonexistent"], timeout: 60)
        assertOneLineError(r, status: 1, tool: "irn-actor", ["/nonexistent", "--data"])
        let notPrepared = try runTool(self, "irn-actor", ["--server", "tcp://127.0.0.1:1", "--data", dir.path], timeout: 60)
        assertOneLineError(notPrepared, status: 1, tool: "irn-actor", ["not a prepared data set", "irn data prepare"])
    }

    /// Was: waits forever and logs nothing, even at debug level.
    func testActorLogsEachUnansweredJoinAndGivesUpAfterItsAttempts() throws {
        // A port bound but not listening: reserved for this test, and every connect is refused.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        XCTAssertTrue(bound, "bind: errno \(errno)")
        let server = "tcp://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"
        let r = try runTool(self, "irn-actor", ["--server", server, "--connect-timeout", "0.5", "--connect-attempts", "3"], timeout: 120)
        XCTAssertEqual(r.status, 1, r.stderr)
        let retries = r.errorLines.filter { $0.contains("no answer from \(server) after 0.5 s, retrying") }
        XCTAssertEqual(retries.count, 2, "one log line per unanswered attempt but the last: \(r.stderr)")
        XCTAssertTrue(r.errorLines.last?.hasPrefix("irn-actor: error: no answer from \(server) after 3 attempt(s)") == true, r.stderr)
    }

    /// The same kind of mistake gives the same status whichever command makes it.
    func testEveryCommandGivesTheSameStatusForTheSameMistake() throws {
        let missing = dir.appendingPathComponent("missing").path
        // A data directory that is not there: 1.
        for (tool, args) in [("irn", ["data", "stats", missing]), ("irn", ["baseline", "--data", missing, "--method", "pop"]),
                             ("irn", ["eval", "--data", missing, "--model", missing]), ("irn", ["train", "--data", missing, "--out", "m"]),
                             ("irn-server", ["--data", missing, "--port", "1"])] {
            let r = try runTool(self, tool, args)
            assertOneLineError(r, status: 1, tool: tool, [missing])
        }
        // An out-of-range flag value: 2.
        for (tool, args) in [("irn", ["data", "synth", "--items", "3", "--out", missing]), ("irn", ["baseline", "--data", missing, "--method", "nope"]),
                             ("irn", ["stats", "--server", "tcp://127.0.0.1:1", "--timeout", "0"]), ("irn-server", ["--data", missing, "--epochs", "0"])] {
            let r = try runTool(self, tool, args)
            assertOneLineError(r, status: 2, tool: tool, [])
        }
        // A model file to a folder that is not there: 1, before any training.
        let data = try preparedData()
        let save = dir.appendingPathComponent("no-such-folder/pop.safetensors").path
        assertOneLineError(try runTool(self, "irn", ["baseline", "--data", data, "--method", "pop", "--save", save]), status: 1, [save, "does not exist"])
    }

    // MARK: data preparation

    /// YooChoose-style raw files: `sessions` sessions spread evenly over `spanDays` days, each
    /// three clicks then one purchase, on 20 items (every item well above 5 events).
    func writeRaw(sessions: Int = 1000, spanDays: Double = 400) throws -> (clicks: String, buys: String) {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let start = Date(timeIntervalSince1970: 1_388_534_400)  // 2014-01-01
        var clicks = "SessionId,Timestamp,ItemId,Category\n", buys = "SessionId,Timestamp,ItemId,Price,Quantity\n"
        for s in 0..<sessions {
            let t0 = start.addingTimeInterval(Double(s) / Double(sessions) * spanDays * 86_400)
            for e in 0..<3 { clicks += "\(s + 1),\(f.string(from: t0.addingTimeInterval(Double(e) * 60))),\(100 + (s + e) % 20),0\n" }
            buys += "\(s + 1),\(f.string(from: t0.addingTimeInterval(240))),\(100 + s % 20),10,1\n"
        }
        let c = dir.appendingPathComponent("clicks.dat"), b = dir.appendingPathComponent("buys.dat")
        try clicks.write(to: c, atomically: true, encoding: .utf8)
        try buys.write(to: b, atomically: true, encoding: .utf8)
        return (c.path, b.path)
    }

    func testPrepareRefusesATestSplitThatTakesEverything() throws {
        let raw = try writeRaw()
        let out = dir.appendingPathComponent("prepared").path
        // Was: an empty data set, exit 0, and `irn train` on it complained about `--items`.
        let r = try runTool(self, "irn", ["data", "prepare", "--clicks", raw.clicks, "--buys", raw.buys, "--out", out, "--days", "0", "--test-days", "500"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let errors = r.errorLines.filter { $0.contains("error") }
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(errors.first?.contains("--test-days 500 puts all") == true, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written")
    }

    func testPrepareWarnsOnSwappedClicksAndBuys() throws {
        let raw = try writeRaw()
        let r = try runTool(self, "irn", ["data", "prepare", "--clicks", raw.buys, "--buys", raw.clicks,
                                          "--out", dir.appendingPathComponent("p").path, "--days", "0", "--test-days", "30", "--valid-days", "30"])
        XCTAssertEqual(r.status, 0, "a warning, not an error: \(r.stderr)")
        XCTAssertTrue(r.errorLines.contains { $0.hasPrefix("warning: ") && $0.contains("are --clicks and --buys swapped?") }, r.stderr)
        let straight = try runTool(self, "irn", ["data", "prepare", "--clicks", raw.clicks, "--buys", raw.buys,
                                                 "--out", dir.appendingPathComponent("q").path, "--days", "0", "--test-days", "30", "--valid-days", "30"])
        XCTAssertEqual(straight.status, 0, straight.stderr)
        XCTAssertFalse(straight.stderr.contains("warning"), "no warning on sound data: \(straight.stderr)")
    }

    func testPrepareWarnsWhenTheDefaultDaysWindowKeepsAHandful() throws {
        let raw = try writeRaw()
        // The default --days 30 on 400 days keeps 7.5% of the sessions, and a 1-day validation
        // split of about two sessions.
        let r = try runTool(self, "irn", ["data", "prepare", "--clicks", raw.clicks, "--buys", raw.buys, "--out", dir.appendingPathComponent("p").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.errorLines.contains { $0.hasPrefix("warning: --days 30 keeps ") && $0.contains("of 1000 sessions") && $0.contains("--days 0 keeps all") }, r.stderr)
        XCTAssertTrue(r.errorLines.contains { $0.hasPrefix("warning: the validation split holds ") }, r.stderr)
    }
}
