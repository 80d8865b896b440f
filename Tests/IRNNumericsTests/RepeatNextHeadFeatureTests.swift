import XCTest
@testable import IRNNumerics

/// The transition table and the repeat-next head's candidate features on hand-built sessions:
/// which candidates get features, and which values.
final class RepeatNextHeadFeatureTests: XCTestCase {
    /// Sessions over 6 items: 0->1 three times, 0->2 once, 1->2 twice, 2->3 once, 3->0 once,
    /// a repeat 4->4 (not a transition) and 1->5 once.
    func table(L: Int = 10, cooccurrence: Bool = false) -> TransitionTable {
        let sessions: [[Int32]] = [[0, 1, 2], [0, 1, 2, 3, 0], [0, 1, 5], [0, 2], [4, 4]]
        var offsets = [0], items: [Int32] = []
        for s in sessions { items += s; offsets.append(items.count) }
        return TransitionTable(sessionOffsets: offsets, items: items, itemCount: 6, followersPerItem: L, cooccurrence: cooccurrence)
    }

    /// Co-occurrences count sessions, not events or order: 0 shares sessions with 1 (3), 2 (3:
    /// the first, second and fourth), 3 and 5 (1 each); 4 only with itself (none).
    func testCooccurrenceListsCountSessions() {
        let t = table(cooccurrence: true)
        XCTAssertEqual(Array(t.coItems[t.coRange(of: 0)]), [1, 2, 3, 5])
        XCTAssertEqual(Array(t.coLogScores[t.coRange(of: 0)]), [3, 3, 1, 1].map { Float(log1p(Double($0))) })
        XCTAssertEqual(Array(t.coItems[t.coRange(of: 1)]), [0, 2, 3, 5])
        XCTAssertEqual(Array(t.coLogScores[t.coRange(of: 1)]), [3, 2, 1, 1].map { Float(log1p(Double($0))) })
        XCTAssertEqual(Array(t.coItems[t.coRange(of: 4)]), [])
        XCTAssertEqual(Array(table(L: 2, cooccurrence: true).coItems[t.coRange(of: 0).lowerBound ..< 2]), [1, 2], "top L, ties to the smaller id")
        let plain = table()
        XCTAssertFalse(plain.hasCooccurrence)
        XCTAssertEqual(t.followers, plain.followers, "the transitions are the same")
        XCTAssertEqual(t.shares, plain.shares)
        XCTAssertNotEqual(t.checksum, plain.checksum, "a co-occurrence table has its own checksum")
    }

    /// With the co-occurrence source, `session` sums r_i c(i, j) and the candidates include
    /// the session items' co-occurring items; last, share and follow stay the transitions'.
    func testCooccurrenceSourceFeatures() throws {
        var h = PolicyHead.repeatNext(followersPerItem: 10, nextSessionSource: .cooccurrence)
        XCTAssertThrowsError(try h.attach(table(), split: "train_tr"), "a table without co-occurrences is refused")
        try h.attach(table(cooccurrence: true), split: "train_tr")
        var p = PrefixTracker(slots: 1, head: h)
        let l = { (c: Double) in Float(log1p(c)) }
        p.feed(slot: 0, item: 0)
        var e = p.nextEntries(slot: 0)
        XCTAssertEqual(e.map(\.item), [1, 2, 3, 5])
        XCTAssertEqual(e[0].phi, SIMD4(l(3), 0.75, l(3), 1))
        XCTAssertEqual(e[1].phi, SIMD4(l(1), 0.25, l(3), 1))
        XCTAssertEqual(e[2].phi, SIMD4(0, 0, l(1), 0))
        XCTAssertEqual(e[3].phi, SIMD4(0, 0, l(1), 0))
        p.feed(slot: 0, item: 1)
        e = p.nextEntries(slot: 0)
        // Session {0, 1}, last 1: 0's co-occurrences at recency 1/2 first (2, 3, 5), then 1's.
        XCTAssertEqual(e.map(\.item), [2, 3, 5])
        XCTAssertEqual(e[0].phi[0], l(2)); XCTAssertEqual(e[0].phi[1], 2.0 / 3.0, accuracy: 1e-7); XCTAssertEqual(e[0].phi[3], 1)
        XCTAssertEqual(e[0].phi[2], 0.5 * l(3) + l(2), accuracy: 1e-6)
        XCTAssertEqual(e[1].phi, SIMD4(0, 0, 0.5 * l(1) + l(1), 0))
        XCTAssertEqual(e[2].phi[0], l(1)); XCTAssertEqual(e[2].phi[3], 1)
        XCTAssertEqual(e[2].phi[2], 0.5 * l(1) + l(1), accuracy: 1e-6)
        XCTAssertEqual(try PolicyHead(metadata: h.metadata), h)
        XCTAssertEqual(h.metadata["next_session_source"], "cooccurrence")
        XCTAssertEqual(try JSONDecoder().decode(PolicyHead.self, from: JSONEncoder().encode(h)), h)
        XCTAssertNil(try head().metadata["next_session_source"], "the default source writes nothing new")
    }

    func testTableCountsTopLAndShares() {
        let t = table()
        XCTAssertEqual(Array(t.followers[t.range(of: 0)]), [1, 2])
        XCTAssertEqual(Array(t.counts[t.range(of: 0)]), [3, 1])
        XCTAssertEqual(Array(t.shares[t.range(of: 0)]), [0.75, 0.25])
        XCTAssertEqual(Array(t.followers[t.range(of: 1)]), [2, 5])
        XCTAssertEqual(t.logScores[t.range(of: 1).lowerBound], Float(log1p(2.0)))
        XCTAssertEqual(Array(t.followers[t.range(of: 4)]), [], "a repeated item is no transition")
        // L = 1 keeps the most frequent follower; the share stays relative to all of i's transitions.
        let t1 = table(L: 1)
        XCTAssertEqual(Array(t1.followers[t1.range(of: 0)]), [1])
        XCTAssertEqual(Array(t1.shares[t1.range(of: 0)]), [0.75])
        XCTAssertEqual(table().checksum, table().checksum, "the same sessions give the same table")
        XCTAssertNotEqual(t1.checksum, t.checksum)
    }

    func head(_ features: [Bool] = [true, true, true, true]) throws -> PolicyHead {
        var h = PolicyHead.repeatNext(nextFeatures: features, followersPerItem: 10)
        try h.attach(table(), split: "train_tr")
        return h
    }

    func testCandidatesOfAHandBuiltSession() throws {
        var p = PrefixTracker(slots: 2, head: try head())
        XCTAssertTrue(p.nextEntries(slot: 0).isEmpty, "an empty session reaches nothing")
        p.feed(slot: 0, item: 0)
        var e = p.nextEntries(slot: 0)
        // From 0: 1 (count 3) and 2 (count 1); 0 itself is in the session.
        XCTAssertEqual(e.map(\.item), [1, 2])
        XCTAssertEqual(e[0].phi, SIMD4(Float(log1p(3.0)), 0.75, Float(log1p(3.0)), 1))
        XCTAssertEqual(e[1].phi, SIMD4(Float(log1p(1.0)), 0.25, Float(log1p(1.0)), 1))
        p.feed(slot: 0, item: 1)
        e = p.nextEntries(slot: 0)
        // Session {0, 1}, last 1: 2 is reached from 0 (recency 1/2) and from 1 (last); 5 from 1
        // only; 1 is in the session, so not a candidate.
        XCTAssertEqual(e.map(\.item), [2, 5])
        XCTAssertEqual(e[0].phi[0], Float(log1p(2.0)))
        XCTAssertEqual(e[0].phi[1], 2.0 / 3.0, accuracy: 1e-7)
        XCTAssertEqual(e[0].phi[2], 0.5 * Float(log1p(1.0)) + Float(log1p(2.0)), accuracy: 1e-6)
        XCTAssertEqual(e[0].phi[3], 1)
        XCTAssertEqual(e[1].phi, SIMD4(Float(log1p(1.0)), Float(1.0 / 3.0), Float(log1p(1.0)), 1))
        p.feed(slot: 0, item: 3)
        e = p.nextEntries(slot: 0)
        // Last 3 reaches only 0 (in the session); 2 and 5 keep the session feature only.
        XCTAssertEqual(e.map(\.item), [2, 5])
        XCTAssertEqual(e[0].phi[0], 0); XCTAssertEqual(e[0].phi[1], 0); XCTAssertEqual(e[0].phi[3], 0)
        XCTAssertEqual(e[0].phi[2], Float(log1p(1.0)) / 3 + Float(log1p(2.0)) / 2, accuracy: 1e-6)
        XCTAssertTrue(p.nextEntries(slot: 1).isEmpty, "slots are independent")
        p.reset(slot: 0)
        XCTAssertTrue(p.nextEntries(slot: 0).isEmpty)
        // The prefix features are the repeat head's, unchanged.
        p.feed(slot: 1, item: 2)
        XCTAssertEqual(p.entries(slot: 1).map(\.item), [2])
        XCTAssertEqual(p.nextEntries(slot: 1).map(\.item), [3])
    }

    func testFeatureMask() throws {
        var p = PrefixTracker(slots: 1, head: try head([false, true, false, true]))
        p.feed(slot: 0, item: 0)
        XCTAssertEqual(p.nextEntries(slot: 0)[0].phi, SIMD4(0, 0.75, 0, 1))
    }

    func testMismatchedTableIsRefused() throws {
        var h = PolicyHead(kind: .repeatNext, followersPerItem: 10, transitionSplit: "train_tr", transitionChecksum: table().checksum &+ 1)
        XCTAssertThrowsError(try h.attach(table(), split: "train_tr")) { e in
            XCTAssertTrue("\(e)".contains("mismatch"), "\(e)")
        }
        var ok = PolicyHead(kind: .repeatNext, followersPerItem: 10, transitionSplit: "train_tr", transitionChecksum: table().checksum)
        XCTAssertNoThrow(try ok.attach(table(), split: "train_tr"))
        XCTAssertThrowsError(try ok.attach(table(), split: "train"), "another split is refused")
    }

    func testMetadataAndJSONRoundTrip() throws {
        let h = try head([true, false, true, true])
        let back = try PolicyHead(metadata: h.metadata)
        XCTAssertEqual(back, h)
        XCTAssertNil(back.transitions, "the table itself is rebuilt from the data, not stored")
        let json = try JSONDecoder().decode(PolicyHead.self, from: JSONEncoder().encode(h))
        XCTAssertEqual(json, h)
        XCTAssertEqual(PolicyHead.repeatAware().metadata.keys.sorted(), ["head", "repeat_features", "repeat_gate"], "the repeat head's metadata is unchanged")
    }

    /// Scoring adds g_n(h) . psi to the candidates and nothing elsewhere: with W_n = 0 and
    /// b_n = (1, 0, 0, 0) the candidates' logits rise by s(last, j) over the repeat head's.
    func testScoringAddsCandidateTerms() throws {
        let h = try head()
        let shape = NetworkShape(items: 6, hidden: 3, head: h)
        var p = NetworkParameters(shape: shape, seed: 3)
        var rp = NetworkParameters(shape: NetworkShape(items: 6, hidden: 3, head: .repeatAware()), seed: 3)
        p.tensors[ParameterGroup.nextGateBias.rawValue] = [1, 0, 0, 0]
        rp.tensors = Array(p.tensors[0..<9])
        var s1 = RecurrentState(slots: 1, shape: shape), s2 = RecurrentState(slots: 1, shape: rp.shape)
        var z1 = [Float](repeating: 0, count: 6), z2 = z1
        for item: Int32 in [0, 1] {
            [item].withUnsafeBufferPointer { i in
                z1.withUnsafeMutableBufferPointer { p.scoreStep(inputs: i, resets: nil, state: &s1, logits: $0) }
                z2.withUnsafeMutableBufferPointer { rp.scoreStep(inputs: i, resets: nil, state: &s2, logits: $0) }
            }
        }
        let d = zip(z1, z2).map { $0 - $1 }
        XCTAssertEqual(d[0], 0); XCTAssertEqual(d[1], 0); XCTAssertEqual(d[3], 0); XCTAssertEqual(d[4], 0)
        XCTAssertEqual(d[2], Float(log1p(2.0)), accuracy: 1e-5)
        XCTAssertEqual(d[5], Float(log1p(1.0)), accuracy: 1e-5)
    }
}
