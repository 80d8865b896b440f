import Foundation
import XCTest
import IRNServing

/// The page in headless Chromium: it loads, two items go into the session, the
/// recommendations the page shows are the API's, and a screenshot is taken; then a real
/// mouse click (DevTools protocol) on a recommended item adds it to the session.
final class ServePageTests: XCTestCase {
    private func chromium() throws -> String {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in ["/usr/bin", "/usr/local/bin", "/snap/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        throw XCTSkip("headless Chromium not installed (Debian: apt-get install chromium); the page test is skipped")
    }

    private func runChromium(_ exe: String, _ args: [String], dir: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                       "--user-data-dir=\(dir.appendingPathComponent("profile").path)"] + args
        let out = dir.appendingPathComponent("chromium-\(UInt32.random(in: 0...UInt32.max)).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let h = try FileHandle(forWritingTo: out)
        p.standardOutput = h
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    }

    func testPageShowsTheRecommendationsForTwoItems() throws {
        let exe = try chromium()
        let dir = try serveTempDirectory("page")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model.safetensors")
        _ = try writeRandomAgent(items: 60, hidden: 8, repeatHead: true, to: model)
        let server = try ServeProcessHandle(["--model", model.path], log: dir.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let api = try server.post("/v1/recommend", #"{"session": [4, 17], "k": 10}"#).json
        let expected = ints(api?["items"])
        let repeats = (api?["repeat_scores"] as? [NSNumber])?.filter { $0.doubleValue != 0 }.count ?? 0
        XCTAssertEqual(expected.count, 10)
        // `?session=4,17` puts the two items into the page's session (as two clicks would)
        // once the page loaded; the DOM after the script ran holds the table.
        let url = "http://127.0.0.1:\(server.port)/?session=4,17"
        let dom = try runChromium(exe, ["--virtual-time-budget=15000", "--dump-dom", url], dir: dir)
        guard let r = dom.range(of: "data-recommended=\"") else {
            return XCTFail("no recommendations on the page; DOM: \(dom.prefix(2000))")
        }
        let shown = dom[r.upperBound...].prefix { $0 != "\"" }.split(separator: ",").compactMap { Int64($0) }
        XCTAssertEqual(shown, expected)
        for id in expected { XCTAssertTrue(dom.contains("data-item=\"\(id)\""), "row for \(id)") }
        if repeats > 0 { XCTAssertTrue(dom.contains("repeat "), "repeat-feature shares are shown for the session's items") }
        let shot = dir.appendingPathComponent("page.png")
        _ = try runChromium(exe, ["--virtual-time-budget=15000", "--window-size=1100,900", "--screenshot=\(shot.path)", url], dir: dir)
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        XCTAssertGreaterThan(size, 10_000, "a screenshot was written")
        if let keep = ProcessInfo.processInfo.environment["IRN_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try? FileManager.default.copyItem(at: shot, to: URL(fileURLWithPath: keep))
        }
    }

    /// A real click: Chromium driven over its DevTools pipe presses and releases the mouse on
    /// the third recommended row; the item joins the session and the page shows the API's
    /// recommendations for the three items.
    func testClickingARecommendedItemAddsItToTheSession() throws {
        let exe = try chromium()
        let dir = try serveTempDirectory("click")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("model.safetensors")
        _ = try writeRandomAgent(items: 60, hidden: 8, repeatHead: true, to: model)
        let server = try ServeProcessHandle(["--model", model.path], log: dir.appendingPathComponent("serve.log"))
        defer { server.stop() }
        let browser = try DevToolsPipe(exe, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                             "--user-data-dir=\(dir.appendingPathComponent("profile").path)", "--window-size=1100,900",
                                             "http://127.0.0.1:\(server.port)/?session=4,17"])
        defer { browser.stop() }
        let targets = try browser.call("Target.getTargets")
        guard let page = ((targets["targetInfos"] as? [[String: Any]]) ?? []).first(where: { $0["type"] as? String == "page" }),
              let targetId = page["targetId"] as? String else { return XCTFail("no page target: \(targets)") }
        let session = try browser.call("Target.attachToTarget", ["targetId": targetId, "flatten": true])["sessionId"] as? String
        func eval(_ js: String) throws -> Any? {
            let r = try browser.call("Runtime.evaluate", ["expression": js, "returnByValue": true], session: session)
            return (r["result"] as? [String: Any])?["value"]
        }
        var before = ""
        try waitFor(30, "the first recommendations on the page") {
            before = (try eval("document.body.dataset.recommended || ''") as? String) ?? ""
            return !before.isEmpty
        }
        XCTAssertEqual(before.split(separator: ",").compactMap { Int64($0) }, ints(try server.post("/v1/recommend", #"{"session": [4, 17], "k": 10}"#).json?["items"]))
        let target = before.split(separator: ",")[2]
        guard let xy = try eval("(() => { const r = document.querySelector('tr.rec[data-item=\"\(target)\"]').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()") as? [NSNumber],
              xy.count == 2 else { return XCTFail("no row for item \(target)") }
        for type in ["mousePressed", "mouseReleased"] {
            _ = try browser.call("Input.dispatchMouseEvent", ["type": type, "x": xy[0].doubleValue, "y": xy[1].doubleValue, "button": "left", "clickCount": 1], session: session)
        }
        let expected = ints(try server.post("/v1/recommend", "{\"session\": [4, 17, \(target)], \"k\": 10}").json?["items"])
        var chips = "", after = ""
        try waitFor(30, "the clicked item in the session and new recommendations") {
            chips = (try eval("[...document.querySelectorAll('#session .chip')].map((c) => c.textContent).join(',')") as? String) ?? ""
            after = (try eval("document.body.dataset.recommended || ''") as? String) ?? ""
            return chips == "4,17,\(target)" && after.split(separator: ",").compactMap { Int64($0) } == expected
        }
    }
}

/// Chromium's DevTools protocol over `--remote-debugging-pipe` (fd 3: commands in, fd 4:
/// replies out, NUL-separated JSON): enough to evaluate script and send mouse events.
final class DevToolsPipe {
    private let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var buffer: [UInt8] = []
    private var nextId = 0

    init(_ exe: String, _ args: [String]) throws {
        var a: [Int32] = [0, 0], b: [Int32] = [0, 0]
        guard pipe(&a) == 0, pipe(&b) == 0 else { throw ServeTestError("pipe failed") }
        // The child's ends moved above 3 and 4 first, so dup2 onto 3 / 4 always copies (and
        // the copies are inherited whatever the originals' close-on-exec flags).
        let childIn = fcntl(a[0], F_DUPFD, 100), childOut = fcntl(b[1], F_DUPFD, 100)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, childIn, 3)
        posix_spawn_file_actions_adddup2(&actions, childOut, 4)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args + ["--remote-debugging-pipe"]).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, nil, argv, environ)
        close(a[0]); close(b[1]); close(childIn); close(childOut)
        guard rc == 0 else { close(a[1]); close(b[0]); throw ServeTestError("posix_spawn \(exe) failed: \(rc)") }
        pid = child
        toBrowser = a[1]
        fromBrowser = b[0]
    }

    /// Sends one command and waits (up to `timeout` s) for its reply's `result`.
    func call(_ method: String, _ params: [String: Any] = [:], session: String? = nil, timeout: Double = 30) throws -> [String: Any] {
        nextId += 1
        var msg: [String: Any] = ["id": nextId, "method": method, "params": params]
        if let session { msg["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: msg))
        bytes.append(0)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(toBrowser, $0.baseAddress!, $0.count) }
            guard n > 0 else { throw ServeTestError("DevTools pipe closed") }
            off += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = buffer.firstIndex(of: 0) {
                let frame = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let obj = (try? JSONSerialization.jsonObject(with: frame)) as? [String: Any],
                      (obj["id"] as? NSNumber)?.intValue == nextId else { continue }
                if let err = obj["error"] { throw ServeTestError("\(method): \(err)") }
                return obj["result"] as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw ServeTestError("no DevTools reply to \(method)") }
            var pfd = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(min(left, 1) * 1000)) >= 0 else { throw ServeTestError("poll failed") }
            if pfd.revents == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { read(fromBrowser, $0.baseAddress!, $0.count) }
            guard n > 0 else { throw ServeTestError("DevTools pipe closed") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(toBrowser)
        close(fromBrowser)
    }
}
