import XCTest
@testable import IRNData
import IRNSupport

final class LoaderTests: XCTestCase {
    let clicks = """
    1,2014-04-07T10:51:09.277Z,100,0
    1,2014-04-07T10:52:00.000Z,200,S
    2,2014-04-07T11:00:00.000Z,100,0
    1,2014-04-07T10:50:00.000Z,300,0

    """
    let buys = """
    1,2014-04-07T10:52:00.000Z,200,1500,1
    2,2014-04-07T11:05:00.000Z,100,0,2

    """

    private func load(_ sources: RawSources) throws -> [String] {
        let (sessions, ids) = try sources.loadSessions()
        return describe(sessions, ids)
    }

    func testYooChoosePlainAndGzipGiveTheSameSessions() throws {
        let f = TestFiles()
        let plain = try load(RawSources(clicks: f.write("c.dat", clicks), buys: f.write("b.dat", buys)))
        // Session 1 is time-sorted (300 first) and its 200 buy, tied with the 200 click, comes after it.
        XCTAssertEqual(plain, ["1:300,100,200,200$", "2:100,100$"])
        let gz = try load(RawSources(clicks: try f.writeGzip("c.dat.gz", clicks), buys: try f.writeGzip("b.dat.gz", buys)))
        XCTAssertEqual(gz, plain)
    }

    func testHeaderLineAndCRLFAreAccepted() throws {
        let f = TestFiles()
        let c = f.write("c.dat", "SessionId,Timestamp,ItemId,Category\r\n5,2014-04-07T10:51:09.277Z,7,0\r\n5,2014-04-07T10:51:10.277Z,8,0")
        XCTAssertEqual(try load(RawSources(clicks: c)), ["5:7,8"])
    }

    func testTSVFormsSecondsISOTypeAndColumnOrder() throws {
        let f = TestFiles()
        let a = f.write("a.tsv", "SessionId\tItemId\tTime\tType\n1\t10\t100.5\tclick\n1\t11\t100.25\tclick\n1\t10\t101\tpurchase\n2\t12\t50\t\n2\t13\t50\tbuy\n")
        XCTAssertEqual(try load(RawSources(events: a)), ["1:11,10,10$", "2:12,13$"])
        let b = f.write("b.tsv", "Time\tSessionId\tItemId\n2014-04-07T10:51:09.277Z\t3\t10\n2014-04-07T10:51:08Z\t3\t11\n")
        XCTAssertEqual(try load(RawSources(events: b)), ["3:11,10"])
        let (sessions, _) = try RawSources(events: b).loadSessions()
        XCTAssertEqual(sessions.times, [1_396_867_868_000, 1_396_867_869_277])
    }

    func testTiesPutClicksBeforePurchasesEvenWhenTheFileHasThemReversed() throws {
        let f = TestFiles()
        let t = f.write("t.tsv", "SessionId\tItemId\tTime\tType\n1\t5\t10\tpurchase\n1\t5\t10\tclick\n1\t6\t9\tclick\n")
        XCTAssertEqual(try load(RawSources(events: t)), ["1:6,5,5$"])
    }

    func testMalformedLineNamesFileAndLine() {
        let f = TestFiles()
        let c = f.write("c.dat", "1,2014-04-07T10:51:09.277Z,100,0\n1,2014-04-07T10:52:09.277Z,abc,0\n")
        assertIRNError(try self.load(RawSources(clicks: c)), file: c, line: 2, contains: "item id 'abc' is not an integer")
        let s = f.write("s.dat", "x1,2014-04-07T10:51:09.277Z,100,0\n")
        assertIRNError(try self.load(RawSources(clicks: s)), file: s, line: 1, contains: "session id")
    }

    func testBadTimestampNamesFileAndLine() {
        let f = TestFiles()
        let c = f.write("c.dat", "1,2014-04-07T10:51:09.277Z,100,0\n\n1,2014-04-31T10:52:09.277Z,100,0\n")
        assertIRNError(try self.load(RawSources(clicks: c)), file: c, line: 3, contains: "bad timestamp '2014-04-31T10:52:09.277Z'")
        let t = f.write("t.tsv", "SessionId\tItemId\tTime\n1\t2\tyesterday\n")
        assertIRNError(try self.load(RawSources(events: t)), file: t, line: 2, contains: "bad timestamp 'yesterday'")
    }

    func testMissingColumns() {
        let f = TestFiles()
        let c = f.write("c.dat", "1,2014-04-07T10:51:09.277Z,100,0\n2,2014-04-07T10:51:09.277Z\n")
        assertIRNError(try self.load(RawSources(clicks: c)), file: c, line: 2, contains: "missing column")
        let t = f.write("t.tsv", "SessionId\tItemId\tTime\n1\t2\n")
        assertIRNError(try self.load(RawSources(events: t)), file: t, line: 2, contains: "missing column")
        let h = f.write("h.tsv", "SessionId\tTime\n1\t2\n")
        assertIRNError(try self.load(RawSources(events: h)), file: h, line: 1, contains: "missing column ItemId")
        let ty = f.write("ty.tsv", "SessionId\tItemId\tTime\tType\n1\t2\t3\tview-ish\n")
        assertIRNError(try self.load(RawSources(events: ty)), file: ty, line: 2, contains: "is not click or purchase")
    }

    func testEmptyFiles() {
        let f = TestFiles()
        let c = f.write("c.dat", "")
        assertIRNError(try self.load(RawSources(clicks: c)), file: c, line: nil, contains: "empty file")
        let blank = f.write("blank.dat", "\n\n")
        assertIRNError(try self.load(RawSources(clicks: blank)), file: blank, line: nil, contains: "empty file")
        let t = f.write("t.tsv", "SessionId\tItemId\tTime\n")
        assertIRNError(try self.load(RawSources(events: t)), file: t, line: nil, contains: "empty file")
        let gz = try! f.writeGzip("e.dat.gz", "")
        assertIRNError(try self.load(RawSources(clicks: gz)), file: gz, line: nil, contains: "empty file")
    }

    func testUnreadableFiles() {
        let f = TestFiles()
        let missing = f.path("nope.dat")
        assertIRNError(try self.load(RawSources(clicks: missing)), file: missing, line: nil, contains: "cannot open file: No such file")
        assertIRNError(try self.load(RawSources(clicks: f.root.path)), file: f.root.path, line: nil, contains: "is a directory")
    }

    func testTruncatedGzipIsAnErrorNamingTheFile() throws {
        let f = TestFiles()
        var text = ""
        for i in 0..<20_000 { text += "\(i / 3),2014-04-07T10:51:\(String(format: "%02d", i % 60)).277Z,\(214_000_000 + i * 7919 % 5000),0\n" }
        let full = try f.writeGzip("full.dat.gz", text)
        var whole = RawEvents()
        XCTAssertEqual(try EventLoader.loadYooChoose(path: full, kind: .clicks, into: &whole), 20_000)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: full))
        for keep in [bytes.count / 2, bytes.count - 4] {  // mid-stream, and only the trailer cut
            let cut = f.path("cut-\(keep).dat.gz")
            try bytes.prefix(keep).write(to: URL(fileURLWithPath: cut))
            var events = RawEvents()
            assertIRNError(try EventLoader.loadYooChoose(path: cut, kind: .clicks, into: &events), file: cut, line: nil, contains: "truncated")
        }
    }

    func testDirectoryDiscovery() throws {
        let f = TestFiles()
        f.write("yoochoose-clicks.dat", clicks)
        f.write("yoochoose-buys.dat", buys)
        let s = try RawSources.discover(in: f.root.path)
        XCTAssertEqual(s.clicks, f.path("yoochoose-clicks.dat"))
        XCTAssertEqual(s.buys, f.path("yoochoose-buys.dat"))
    }

    func testIdTableKeepsFirstAppearanceOrderThroughGrowth() {
        var t = IdTable(expected: 4)
        var expected: [Int64] = []
        for k in 0..<10_000 {
            let id = Int64(k &* 2_654_435_761 % 1_000_003) - 500_000
            if t.find(id) == nil { expected.append(id) }
            _ = t.index(of: id)
        }
        XCTAssertEqual(t.ids, expected)
        for (i, id) in expected.enumerated() { XCTAssertEqual(t.find(id), Int32(i)) }
        XCTAssertNil(t.find(9_999_999))
    }
}
