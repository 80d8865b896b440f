import Foundation
import XCTest
import IRNServer

/// The real executables and scripts, as a user runs them, with the visit-count self-test model:
/// after the run every session's counter must be exactly the number of epochs (the server
/// checks and exits 3 otherwise).
final class ProcessClusterTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @discardableResult
    private func sh(_ command: String, env: [String: String] = [:]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = Self.packageRoot
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        // Output goes to a file, not a pipe: background processes the scripts start would
        // inherit a pipe's write end and keep it open long after the script returns.
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("irn-sh-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile) }
        let handle = try FileHandle(forWritingTo: outFile)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        return (p.terminationStatus, (try? String(contentsOf: outFile, encoding: .utf8)) ?? "")
    }

    private func freeBasePort() -> Int {
        // Below Linux's ephemeral range (32768...), distinct per process; the server fails
        // loudly if the port is taken.
        20_000 + Int(getpid() % 500) * 20 + Int.random(in: 0..<4) * 4
    }

    private func statsJSON(_ port: Int) -> [String: Any]? {
        guard let text = try? StatsClient.fetch(server: "tcp://127.0.0.1:\(port)", timeoutSeconds: 1) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    private func waitFor(_ seconds: Double, _ what: String, _ cond: () -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while !cond() {
            if Date() > end { throw TestTimeout(what: what) }
            usleep(50_000)
        }
    }

    private func pidAlive(_ pidFile: URL) -> Bool {
        guard let s = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(s.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
        return kill(pid, 0) == 0
    }

    private func settings(_ dir: URL, port: Int, bin: URL, server: String, actor: String) throws -> URL {
        let f = dir.appendingPathComponent("test.env")
        try """
        IRN_PORT=\(port)
        IRN_ALGO=visit-count
        IRN_BIN=\(bin.path)
        IRN_RUN_DIR=\(dir.path)/run
        IRN_STOP_TIMEOUT=10
        IRN_SERVER_ARGS="\(server)"
        IRN_ACTOR_ARGS="\(actor)"
        """.write(to: f, atomically: true, encoding: .utf8)
        return f
    }

    /// Local cluster from the scripts; scale 2 -> 3; kill -9 one actor mid-epoch; the epoch still
    /// visits every session exactly once, the stats show the actors and the dead one times out.
    func testScriptsLocalClusterSurvivesKill9() throws {
        let bin = try builtBinaries(self)
        let dir = try freshTempDirectory("proc-kill")
        defer { _ = try? sh("scripts/cluster-stop -c \(dir.path)/test.env"); try? FileManager.default.removeItem(at: dir) }
        let port = freeBasePort()
        let env = try settings(dir, port: port, bin: bin,
                               server: "--epochs 2 --sessions 4000 --shards 10 --heartbeat-timeout 3 --checkpoint-dir \(dir.path)/ck",
                               actor: "--selftest-delay 0.002 --heartbeat 0.2")
        let (rc, out) = try sh("scripts/cluster-local -n 2 -c \(env.path)")
        XCTAssertEqual(rc, 0, out)
        XCTAssertEqual(try sh("scripts/cluster-scale 3 -c \(env.path)").0, 0)
        try waitFor(60, "three actors pushing") {
            ((statsJSON(port)?["actors"] as? [[String: Any]]) ?? []).filter { ($0["pushes"] as? Int ?? 0) > 0 }.count == 3
        }
        let victim = dir.appendingPathComponent("run/actors/local-1.pid")
        let pid = try XCTUnwrap(Int32(String(contentsOf: victim, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        let serverPid = dir.appendingPathComponent("run/server.pid")
        var timedOut = 0
        try waitFor(120, "the server to finish") {
            if let s = statsJSON(port) { timedOut = s["actors_timed_out"] as? Int ?? timedOut }
            return !pidAlive(serverPid)
        }
        let log = try String(contentsOf: dir.appendingPathComponent("run/server.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("self-test passed: every session visited exactly 2 time(s)"), log)
        XCTAssertTrue(log.contains("actor timed out"), log)
        XCTAssertEqual(timedOut, 1)
    }

    /// scripts/cluster-local again on a finished run's settings is refused and the script says
    /// so (it used to resume the finished checkpoint, exit at once and still print "cluster
    /// up"); -F starts a fresh run (old checkpoints moved aside) and says so.
    func testScriptsRefuseAFinishedRunAndStartFreshWithF() throws {
        let bin = try builtBinaries(self)
        let dir = try freshTempDirectory("proc-finished")
        defer { _ = try? sh("scripts/cluster-stop -c \(dir.path)/test.env"); try? FileManager.default.removeItem(at: dir) }
        let port = freeBasePort()
        let env = try settings(dir, port: port, bin: bin, server: "--epochs 1 --sessions 300 --shards 4 --checkpoint-dir \(dir.path)/ck",
                               actor: "--heartbeat 0.2")
        let serverPid = dir.appendingPathComponent("run/server.pid")
        let (rc, out) = try sh("scripts/cluster-local -n 1 -c \(env.path)")
        XCTAssertEqual(rc, 0, out)
        XCTAssertTrue(out.contains("server started a new run"), out)
        try waitFor(120, "the first run to finish") { !pidAlive(serverPid) }
        _ = try sh("scripts/cluster-stop -c \(env.path)")

        let (rc2, out2) = try sh("scripts/cluster-local -n 1 -c \(env.path)")
        XCTAssertNotEqual(rc2, 0, out2)
        XCTAssertTrue(out2.contains("finished all 1 epoch(s)") && out2.contains("--fresh"), out2)
        XCTAssertFalse(out2.contains("cluster up"), out2)

        let (rc3, out3) = try sh("scripts/cluster-local -n 1 -F -c \(env.path)")
        XCTAssertEqual(rc3, 0, out3)
        XCTAssertTrue(out3.contains("server started a fresh run") && out3.contains("replaced-1"), out3)
        try waitFor(120, "the fresh run to finish") { !pidAlive(serverPid) }
        let log = try String(contentsOf: dir.appendingPathComponent("run/server.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("self-test passed"), log)
    }

    /// SIGTERM the server mid-run, start it again: it resumes from its checkpoint (a corrupt
    /// newer one is skipped), the actors rejoin by themselves, training ends normally.
    func testServerSigtermAndRestartResumes() throws {
        let bin = try builtBinaries(self)
        let dir = try freshTempDirectory("proc-restart")
        let port = freeBasePort() / 20 * 20 + 16
        let ck = dir.appendingPathComponent("ck")
        // 2400 sessions of 3 ms over 2 actors: the SIGTERM below comes well before the end, however
        // late this thread sees step 200 on a loaded machine. A heartbeat timeout of 4 s: a live
        // actor that timed out would rejoin and spoil the count of joins.
        let serverArgs = ["--self-test", "--port", "\(port)", "--sessions", "2400", "--shards", "8",
                          "--epochs", "1", "--heartbeat-timeout", "4", "--checkpoint-dir", ck.path, "--log-level", "info"]
        func startServer(_ log: String) throws -> Process {
            let p = Process()
            p.executableURL = bin.appendingPathComponent("irn-server")
            p.arguments = serverArgs
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(log).path, contents: nil)
            p.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent(log))
            try p.run()
            return p
        }
        var actors: [Process] = [], servers: [Process] = []
        defer {
            // No processes left behind when an assertion throws half-way.
            (servers + actors).forEach { if $0.isRunning { $0.terminate(); $0.waitUntilExit() } }
            try? FileManager.default.removeItem(at: dir)
        }
        let s1 = try startServer("server1.log")
        servers.append(s1)
        for i in 0..<2 {
            let a = Process()
            a.executableURL = bin.appendingPathComponent("irn-actor")
            a.arguments = ["--server", "tcp://127.0.0.1:\(port)", "--id", "a\(i)", "--selftest-delay", "0.003", "--heartbeat", "0.2"]
            a.standardError = FileHandle.nullDevice
            try a.run()
            actors.append(a)
        }
        try waitFor(60, "progress") { (statsJSON(port)?["step"] as? Int ?? 0) >= 200 }
        s1.terminate()  // SIGTERM
        s1.waitUntilExit()
        XCTAssertEqual(s1.terminationStatus, 0)
        let saved = try FileManager.default.contentsOfDirectory(atPath: ck.path).filter { $0.hasSuffix(".safetensors") }
        XCTAssertEqual(saved.count, 1)
        try Data("garbage".utf8).write(to: ck.appendingPathComponent("checkpoint-999999999999.safetensors"))

        let s2 = try startServer("server2.log")
        servers.append(s2)
        s2.waitUntilExit()
        for a in actors { a.waitUntilExit(); XCTAssertEqual(a.terminationStatus, 0) }
        XCTAssertEqual(s2.terminationStatus, 0)
        let log2 = try String(contentsOf: dir.appendingPathComponent("server2.log"), encoding: .utf8)
        XCTAssertTrue(log2.contains("skipping unreadable checkpoint"), log2)
        XCTAssertTrue(log2.contains("resumed from checkpoint"), log2)
        XCTAssertTrue(log2.contains("self-test passed: every session visited exactly 1 time(s)"), log2)
        XCTAssertEqual(log2.components(separatedBy: "actor joined").count - 1, 2, "both actors rejoined")
    }

    /// Server and actor in separate network namespaces joined by a veth pair.
    func testAcrossNetworkNamespaces() throws {
        let bin = try builtBinaries(self)
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
            throw XCTSkip("needs root and iproute2 to create network namespaces")
        }
        let tag = "irn\(getpid() % 100_000)"
        let (a, b) = ("\(tag)s", "\(tag)a")
        let setup = """
        set -e
        ip netns add \(a); ip netns add \(b)
        ip link add \(tag)v0 type veth peer name \(tag)v1
        ip link set \(tag)v0 netns \(a); ip link set \(tag)v1 netns \(b)
        ip -n \(a) addr add 10.77.0.1/24 dev \(tag)v0; ip -n \(b) addr add 10.77.0.2/24 dev \(tag)v1
        ip -n \(a) link set \(tag)v0 up; ip -n \(b) link set \(tag)v1 up
        ip -n \(a) link set lo up; ip -n \(b) link set lo up
        """
        let (rc, out) = try sh(setup)
        defer { _ = try? sh("ip netns del \(a); ip netns del \(b)") }
        guard rc == 0 else { throw XCTSkip("cannot create network namespaces here: \(out)") }
        let (rcRun, runOut) = try sh("""
        ip netns exec \(a) \(bin.path)/irn-server --self-test --host 10.77.0.1 --port 6000 --sessions 300 --shards 4 --log-level notice &
        spid=$!
        # Stats before the actor starts: the server cannot finish (and exit) without an actor.
        ip netns exec \(b) \(bin.path)/irn stats --server tcp://10.77.0.1:6000 --json --timeout 30 > /dev/null || echo "stats across namespaces failed"
        ip netns exec \(b) \(bin.path)/irn-actor --server tcp://10.77.0.1:6000 --id far --selftest-delay 0.001 --log-level warning &
        apid=$!
        wait $spid; s=$?
        wait $apid; a=$?
        echo "server=$s actor=$a"
        """)
        XCTAssertEqual(rcRun, 0, runOut)
        XCTAssertTrue(runOut.contains("server=0 actor=0"), runOut)
        XCTAssertTrue(runOut.contains("self-test passed"), runOut)
        XCTAssertFalse(runOut.contains("stats across namespaces failed"), runOut)
    }

    /// scripts/cluster-ssh against a real sshd on loopback: remote actors start, join, and
    /// scripts/cluster-stop ends them over ssh (they leave cleanly, returning their shards).
    func testSSHLauncherAgainstLoopbackSSHD() throws {
        let bin = try builtBinaries(self)
        let sshd = "/usr/sbin/sshd"
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: sshd),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen") else {
            throw XCTSkip("needs root, sshd and ssh-keygen to run a loopback sshd")
        }
        let dir = try freshTempDirectory("proc-ssh")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sshPort = 30_000 + Int(getpid() % 2000)
        let d = dir.path
        let (rcKeys, keysOut) = try sh("""
        set -e
        mkdir -p /run/sshd && chmod 755 /run/sshd
        ssh-keygen -q -t ed25519 -N '' -f \(d)/host_key
        ssh-keygen -q -t ed25519 -N '' -f \(d)/client_key
        cp \(d)/client_key.pub \(d)/authorized_keys
        printf '%s\n' 'Port \(sshPort)' 'ListenAddress 127.0.0.1' 'HostKey \(d)/host_key' \
          'AuthorizedKeysFile \(d)/authorized_keys' 'PidFile \(d)/sshd.pid' 'StrictModes no' 'UsePAM no' \
          'PasswordAuthentication no' 'PermitRootLogin prohibit-password' > \(d)/sshd_config
        \(sshd) -t -f \(d)/sshd_config
        """)
        guard rcKeys == 0 else { throw XCTSkip("cannot prepare a loopback sshd: \(keysOut)") }
        // sshd daemonizes itself (a child Process of ours would confuse Foundation's exit
        // detection of later children); it is stopped through its pid file.
        let (rcD, outD) = try sh("\(sshd) -f \(d)/sshd_config")
        guard rcD == 0 else { throw XCTSkip("cannot start a loopback sshd: \(outD)") }
        defer { _ = try? sh("kill $(cat \(d)/sshd.pid)") }
        try waitFor(30, "sshd pid file") { FileManager.default.fileExists(atPath: "\(d)/sshd.pid") }

        let port = freeBasePort() / 20 * 20 + 12
        let env = try settings(dir, port: port, bin: bin,
                               server: "--sessions 200000 --shards 8 --heartbeat-timeout 5",
                               actor: "--selftest-delay 0.01 --heartbeat 0.2")
        try """
        IRN_SSH="ssh -p \(sshPort) -i \(d)/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
        IRN_REMOTE_DIR=\(Self.packageRoot.path)

        """.appendLine(to: env)
        try "127.0.0.1 2\n".write(to: dir.appendingPathComponent("hosts"), atomically: true, encoding: .utf8)
        defer { _ = try? sh("scripts/cluster-stop -c \(env.path)") }
        let (rc0, out0) = try sh("scripts/cluster-local -n 0 -c \(env.path)")
        XCTAssertEqual(rc0, 0, out0)
        let (rc1, out1) = try sh("scripts/cluster-ssh \(d)/hosts -c \(env.path)")
        XCTAssertEqual(rc1, 0, out1)
        XCTAssertTrue(out1.contains("2 remote actor(s) started"), out1)
        try waitFor(60, "two remote actors") {
            Set(((statsJSON(port)?["actors"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }) == ["127.0.0.1-1", "127.0.0.1-2"]
        }
        let (rc2, out2) = try sh("scripts/cluster-stop -c \(env.path)")
        XCTAssertEqual(rc2, 0, out2)
        XCTAssertTrue(out2.contains("remote actor 127.0.0.1-1 on 127.0.0.1 stopped"), out2)
        let log = try String(contentsOf: dir.appendingPathComponent("run/server.log"), encoding: .utf8)
        XCTAssertEqual(log.components(separatedBy: "actor left").count - 1, 2, log)
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: "\(d)/run/remote").isEmpty)
    }
}

extension String {
    func appendLine(to url: URL) throws {
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: Data(("\n" + self).utf8))
    }
}
