import XCTest
@testable import IRNSupport

final class RandomSourceTests: XCTestCase {
    func testSameSeedSameStream() {
        var a = RandomSource(seed: 42), b = RandomSource(seed: 42), c = RandomSource(seed: 43)
        let xa = (0..<100).map { _ in a.next() }
        XCTAssertEqual(xa, (0..<100).map { _ in b.next() })
        XCTAssertNotEqual(xa, (0..<100).map { _ in c.next() })
    }

    func testUniformRanges() {
        var r = RandomSource(seed: 7)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 {
            let f = r.nextFloat(); XCTAssert(f >= 0 && f < 1)
            counts[r.nextInt(below: 10)] += 1
        }
        // Each bucket expects 10,000; 5 sigma is about 475.
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 475) }
    }

    func testStableHashIsFixed() {
        // Pinned values: shard assignment must never change between versions (a stored data
        // set records each session's shard).
        XCTAssertEqual(StableHash.fnv1a(0), 0xA8C7F832281A39C5)
        XCTAssertEqual(StableHash.fnv1a(22), 0x5A7EDAB0C1304793)
        XCTAssertEqual(StableHash.fnv1a(bytes: Array("actor-1".utf8)), 0x97DEABC8E345CD4C)
        let pinned: [(session: Int64, shards: Int, shard: Int)] = [
            (0, 64, 5), (1, 64, 36), (22, 64, 19), (23, 64, 50), (1000, 64, 28),
            (9_000_000_000, 64, 20), (-1, 64, 61), (22, 7, 1), (123_456_789, 16, 9), (22, 1, 0),
        ]
        for p in pinned {
            XCTAssertEqual(StableHash.shard(ofSession: p.session, shards: p.shards), p.shard, "session \(p.session) of \(p.shards) shards")
        }
    }

    func testShardAssignmentSpreadsSessions() {
        // Consecutive session ids (as data sets number them) land on every shard, evenly: each
        // of 64 shards gets 100 of 6,400 sessions, give or take a quarter.
        var perShard = [Int](repeating: 0, count: 64)
        for id in Int64(1)...6400 {
            let s = StableHash.shard(ofSession: id, shards: 64)
            XCTAssert((0..<64).contains(s))
            perShard[s] += 1
        }
        XCTAssertGreaterThan(perShard.min() ?? 0, 75, "\(perShard)")
        XCTAssertLessThan(perShard.max() ?? .max, 125, "\(perShard)")
    }
}
