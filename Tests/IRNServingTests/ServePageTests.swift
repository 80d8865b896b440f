import Foundation
import XCTest
import IRNServing

/// The page in headless Chromium: it loads, two items go into the session, the
/// recommendations the page shows are the API's, and a screenshot is taken.
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
}
