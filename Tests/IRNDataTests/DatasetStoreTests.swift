import Foundation
import XCTest
@testable import IRNData
import IRNSupport

final class DatasetStoreTests: XCTestCase {
    /// A small prepared set built by hand (no preprocessing needed to test the store).
    private func sample() -> PreparedDataset {
        var rng = RandomSource(seed: 5)
        func set(_ n: Int, idBase: Int64) -> SessionSet {
            var s = SessionSet()
            for k in 0..<n {
                let len = 2 + rng.nextInt(below: 5)
                s.append(id: idBase + Int64(k), items: (0..<len).map { _ in Int32(rng.nextInt(below: 7)) },
                         types: (0..<len).map { _ in UInt8(rng.nextInt(below: 2)) },
                         times: (0..<len).map { Int64(1_400_000_000_000 + k * 1000 + $0) })
            }
            return s
        }
        return PreparedDataset(itemIds: [11, 12, 13, 14, 15, 16, 17], train: set(40, idBase: 1000), test: set(9, idBase: 5000),
                               trainTr: set(31, idBase: 1000), valid: set(0, idBase: 0), shardCount: 8,
                               options: PrepareOptions(days: 0, testDays: 14, validDays: 7, shards: 8))
    }

    func testSaveLoadRoundTripAndFiles() throws {
        let f = TestFiles()
        let d = sample()
        try d.save(to: f.url("out"), sources: ["a", "b"])
        XCTAssertEqual(f.listing(), ["out"], "no staging directory left behind")
        let back = try PreparedDataset.load(from: f.url("out"))
        XCTAssertEqual(back.itemIds, d.itemIds)
        XCTAssertEqual(back.train, d.train)
        XCTAssertEqual(back.test, d.test)
        XCTAssertEqual(back.trainTr, d.trainTr)
        XCTAssertEqual(back.valid, d.valid)
        XCTAssertEqual(back.shardCount, 8)
        XCTAssertEqual(back.options, d.options)
        // dataset.json carries the counts under the agreed keys.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: f.url("out/dataset.json"))) as! [String: Any]
        for key in ["train", "test", "train_tr", "valid"] {
            let c = json[key] as! [String: Int]
            let set = d.split(named: key)!
            XCTAssertEqual(c["sessions"], set.count)
            XCTAssertEqual(c["events"], set.eventCount)
            XCTAssertEqual(c["purchases"], set.purchaseCount)
            XCTAssertEqual(c["items"], set.distinctItemCount)
        }
        XCTAssertEqual((json["train_shard_sizes"] as! [Int]).reduce(0, +), d.train.count)
        let tsv = try String(contentsOf: f.url("out/items.tsv"), encoding: .utf8)
        XCTAssertTrue(tsv.hasPrefix("index\titem_id\n0\t11\n1\t12\n"))
    }

    func testFailureBeforeCommitLeavesNothingAndKeepsTheOldDirectory() throws {
        let f = TestFiles()
        let d = sample()
        struct Boom: Error {}
        XCTAssertThrowsError(try d.save(to: f.url("fresh"), sources: [], beforeCommit: { _ in throw Boom() }))
        XCTAssertEqual(f.listing(), [], "neither the output nor a staging directory may remain")
        // An existing prepared directory survives a failed rewrite untouched.
        try d.save(to: f.url("out"))
        let before = try Data(contentsOf: f.url("out/sessions.bin"))
        var other = sample()
        other = PreparedDataset(itemIds: [1], train: SessionSet(), test: SessionSet(), trainTr: SessionSet(),
                                valid: SessionSet(), shardCount: 2)
        XCTAssertThrowsError(try other.save(to: f.url("out"), sources: [], beforeCommit: { staging in
            // The staging directory is complete at this point.
            XCTAssertTrue(FileManager.default.fileExists(atPath: staging.appendingPathComponent("dataset.json").path))
            throw Boom()
        }))
        XCTAssertEqual(f.listing(), ["out"])
        XCTAssertEqual(try Data(contentsOf: f.url("out/sessions.bin")), before)
        // A successful rewrite replaces it.
        try other.save(to: f.url("out"))
        XCTAssertEqual(try PreparedDataset.load(from: f.url("out")).itemIds, [1])
        XCTAssertEqual(f.listing(), ["out"])
    }

    func testPipelineErrorLeavesNoOutput() {
        let f = TestFiles()
        let c = f.write("c.dat", "1,2014-04-07T10:51:09.277Z,100,0\n1,2014-04-07T10:51:10.277Z,100,0\n2,bad,1,0\n")
        let b = f.write("b.dat", "1,2014-04-07T10:52:09.277Z,100,1,1\n")
        assertIRNError(try PreparePipeline.run(sources: RawSources(clicks: c, buys: b), options: PrepareOptions(), out: f.url("out")),
                       file: c, line: 3, contains: "bad timestamp")
        XCTAssertEqual(f.listing(), ["b.dat", "c.dat"])
    }

    func testCorruptOrTruncatedFilesAreErrors() throws {
        let f = TestFiles()
        try sample().save(to: f.url("out"))
        let bin = f.url("out/sessions.bin")
        let good = try Data(contentsOf: bin)
        try good.prefix(good.count - 8).write(to: bin)
        assertIRNError(try PreparedDataset.load(from: f.url("out")), file: bin.path, line: nil, contains: "truncated or corrupt")
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        try flipped.write(to: bin)
        assertIRNError(try PreparedDataset.load(from: f.url("out")), file: bin.path, line: nil, contains: "checksum")
        var magic = good
        magic[0] = 0x58
        try magic.write(to: bin)
        assertIRNError(try PreparedDataset.load(from: f.url("out")), file: bin.path, line: nil, contains: "bad magic")
        let missing = f.url("none/sessions.bin")
        assertIRNError(try PreparedDataset.load(from: f.url("none")), file: missing.path, line: nil, contains: "cannot open prepared data")
    }

    func testShardsFollowTheStableHashAndPartitionTheSessions() {
        let d = sample()
        var seen: [Int] = []
        for shard in 0..<d.shardCount {
            let idx = d.sessionIndices(of: d.train, shards: [shard])
            for i in idx {
                XCTAssertEqual(d.shard(ofSession: i, in: d.train), shard)
                XCTAssertEqual(StableHash.shard(ofSession: d.train.ids[i], shards: 8), shard)
            }
            seen += idx
        }
        XCTAssertEqual(seen.sorted(), Array(0..<d.train.count))
        XCTAssertEqual(d.sessionIndices(of: d.train, shards: 0..<d.shardCount), Array(0..<d.train.count))
        XCTAssertEqual(d.sessionIndices(of: d.train, shards: [1, 3]),
                       (0..<d.train.count).filter { [1, 3].contains(d.shard(ofSession: $0, in: d.train)) })
    }
}
