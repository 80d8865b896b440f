import Foundation
import XCTest
@testable import IRNData
import IRNSupport

/// A scratch directory per test, removed afterwards, with helpers to write input files.
final class TestFiles {
    let root: URL

    init() {
        root = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("irn-data-tests-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try! FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }
    func url(_ name: String) -> URL { root.appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        try! Data(text.utf8).write(to: url(name))
        return path(name)
    }

    @discardableResult
    func writeGzip(_ name: String, _ text: String) throws -> String {
        let w = try ByteWriter(path: path(name), gzip: true)
        for b in text.utf8 {
            try w.reserve(1)
            w.byte(b)
        }
        try w.close()
        return path(name)
    }

    /// Entries of the scratch directory (hidden ones included), sorted.
    func listing() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
    }
}

/// Asserts that `body` throws an IRNError whose file, line and message match.
func assertIRNError(_ body: @autoclosure () throws -> Any, file expectedFile: String?, line expectedLine: Int?,
                    contains fragment: String, sourceFile: StaticString = #filePath, sourceLine: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error containing '\(fragment)'", file: sourceFile, line: sourceLine)
    } catch let e as IRNError {
        XCTAssertEqual(e.file, expectedFile, "file of: \(e)", file: sourceFile, line: sourceLine)
        XCTAssertEqual(e.line, expectedLine, "line of: \(e)", file: sourceFile, line: sourceLine)
        XCTAssertTrue(e.message.contains(fragment), "message '\(e.message)' lacks '\(fragment)'", file: sourceFile, line: sourceLine)
    } catch {
        XCTFail("unexpected error type: \(error)", file: sourceFile, line: sourceLine)
    }
}

/// Builds raw sessions from (sessionId, itemId, seconds, isPurchase) rows, as the loaders do.
func rawSessions(_ rows: [(Int64, Int64, Int64, Bool)]) -> (SessionSet, [Int64]) {
    var raw = RawEvents()
    for (s, i, t, p) in rows { raw.append(sessionId: s, itemId: i, time: t * 1000, type: p ? .purchase : .click) }
    return (raw.grouped(), raw.itemTable.ids)
}

/// The sessions of a split as (session id, [original item id], [is purchase]) for readable asserts.
func describe(_ set: SessionSet, _ itemIds: [Int64]) -> [String] {
    (0..<set.count).map { s in
        let r = set.range(of: s)
        return "\(set.ids[s]):" + r.map { "\(itemIds[Int(set.items[$0])])\(set.types[$0] == 1 ? "$" : "")" }.joined(separator: ",")
    }
}

/// `<package root>/../shared/data`, or IRN_SHARED_DATA.
func sharedDataDirectory() -> URL {
    if let env = ProcessInfo.processInfo.environment["IRN_SHARED_DATA"] { return URL(fileURLWithPath: env) }
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
}
