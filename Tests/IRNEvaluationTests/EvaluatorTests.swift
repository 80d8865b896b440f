import Foundation
import XCTest
import IRNData
@testable import IRNEvaluation

/// A model whose scores depend only on the last item fed: row `table[last]`
/// (all zeros before anything was fed). Feeding -1 leaves the state unchanged.
private struct LastItemModel: Recommender {
    let table: [[Float]]
    var itemCount: Int { table.count }
    func makeScorer(slots: Int) -> any SessionScorer { Scorer(table: table, last: [Int](repeating: -1, count: slots)) }

    struct Scorer: SessionScorer {
        let table: [[Float]]
        var last: [Int]
        var itemCount: Int { table.count }
        mutating func reset(slot: Int) { last[slot] = -1 }
        mutating func step(inputs: UnsafeBufferPointer<Int32>, active: UnsafeBufferPointer<Bool>,
                           scores: UnsafeMutableBufferPointer<Float>) {
            let n = itemCount
            for slot in 0..<active.count where active[slot] {
                if inputs[slot] >= 0 { last[slot] = Int(inputs[slot]) }
                for i in 0..<n { scores[slot * n + i] = last[slot] < 0 ? 0 : table[last[slot]][i] }
            }
        }
    }
}

final class EvaluatorTests: XCTestCase {
    private let click = EventType.click.rawValue, buy = EventType.purchase.rawValue

    /// S0 = 0 1 2 (click click purchase), S1 = 3 0 (click purchase), S2 = 4 (too short, skipped).
    private func sessions() -> SessionSet {
        var s = SessionSet()
        s.append(id: 10, items: [0, 1, 2], types: [click, click, buy], times: [1, 2, 3])
        s.append(id: 11, items: [4], types: [click], times: [4])
        s.append(id: 12, items: [3, 0], types: [click, buy], times: [5, 6])
        return s
    }

    private var model: LastItemModel {
        var t = [[Float]](repeating: [0, 0, 0, 0, 0], count: 5)
        t[0] = [0.5, 0.9, 0.1, 0.9, 0.0]  // target 1: conservative rank 2 (tie with 3), strict 1
        t[1] = [0.3, 0.2, 0.1, 0.4, 0.5]  // target 2: rank 5 either way
        t[3] = [0.7, 0.1, 0.7, 0.7, 0.2]  // target 0: conservative rank 3, strict 1
        return LastItemModel(table: t)
    }

    private func check(_ m: CategoryMetrics, count: Int, recall: [Double], mrr: [Double],
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(m.count, count, "count", file: file, line: line)
        for j in recall.indices {
            XCTAssertEqual(m.recall[j], recall[j], accuracy: 1e-12, "recall[\(j)]", file: file, line: line)
            XCTAssertEqual(m.mrr[j], mrr[j], accuracy: 1e-12, "mrr[\(j)]", file: file, line: line)
        }
    }

    func testConservativeHandComputed() throws {
        for (threads, slots) in [(1, 1), (1, 2), (2, 1), (2, 3)] {
            let r = try Evaluator.evaluate(model, on: sessions(),
                                           options: EvaluationOptions(cutoffs: [1, 3], threads: threads, slots: slots))
            // click ranks {2}; purchase ranks {5, 3}; first ranks {2, 3}
            check(r.click, count: 1, recall: [0, 1], mrr: [0, 0.5])
            check(r.purchase, count: 2, recall: [0, 0.5], mrr: [0, 1.0 / 6])
            check(r.first, count: 2, recall: [0, 1], mrr: [0, (0.5 + 1.0 / 3) / 2])
        }
    }

    func testStrictHandComputed() throws {
        let r = try Evaluator.evaluate(model, on: sessions(),
                                       options: EvaluationOptions(cutoffs: [1, 3], ties: .strict))
        // click ranks {1}; purchase ranks {5, 1}; first ranks {1, 1}
        check(r.click, count: 1, recall: [1, 1], mrr: [1, 1])
        check(r.purchase, count: 2, recall: [0.5, 0.5], mrr: [0.5, 0.5])
        check(r.first, count: 2, recall: [1, 1], mrr: [1, 1])
    }

    /// With c = 1 only item 0 of S0 is fed: event 2 is ranked from the state after item 0
    /// (scores t[0]: 0.5, 0.9 and 0.9 beat 0.1 -> rank 4), and still counted.
    /// Only events on the selected items count, but every event still feeds the state:
    /// S0's purchase of item 2 is ranked after item 1 (rank 5), not after item 0 (rank 4).
    func testTargetSubsetCountsOnlyItsEventsAndFeedsAll() throws {
        var selected = [Bool](repeating: false, count: 5)
        selected[2] = true
        let only2 = TargetItems(selected: selected, label: "two")
        let r = try Evaluator.evaluate(model, on: sessions(), options: EvaluationOptions(cutoffs: [4, 5], targets: only2))
        check(r.purchase, count: 1, recall: [0, 1], mrr: [0, 0.2])
        check(r.click, count: 0, recall: [0, 0], mrr: [0, 0])
        check(r.first, count: 0, recall: [0, 0], mrr: [0, 0])
        XCTAssertTrue(r.json().contains("\"targets\":\"two\""))
        // Items occurring in a split: {0, 2} from a one-session set; its complement {1, 3, 4}.
        var split = SessionSet()
        split.append(id: 1, items: [2, 0], types: [click, click], times: [1, 2])
        let inSplit = TargetItems(itemCount: 5, occurringIn: split, inSplit: true, label: "in")
        XCTAssertEqual(inSplit.selected, [true, false, true, false, false])
        XCTAssertEqual(TargetItems(itemCount: 5, occurringIn: split, inSplit: false, label: "out").selected,
                       [false, true, false, true, true])
        // {0, 2}: purchases on 2 (rank 5) and 0 (rank 3); First: S1's item 0 (rank 3).
        let r02 = try Evaluator.evaluate(model, on: sessions(), options: EvaluationOptions(cutoffs: [3, 5], targets: inSplit))
        check(r02.purchase, count: 2, recall: [0.5, 1], mrr: [1.0 / 6, (0.2 + 1.0 / 3) / 2])
        check(r02.click, count: 0, recall: [0, 0], mrr: [0, 0])
        check(r02.first, count: 1, recall: [1, 1], mrr: [1.0 / 3, 1.0 / 3])
        // A subset sized for another item count is refused.
        XCTAssertThrowsError(try Evaluator.evaluate(model, on: sessions(),
                                                    options: EvaluationOptions(targets: TargetItems(selected: [true], label: "x"))))
    }

    /// A = 0 1 0 2 (click click purchase click), B = 3 1 1 (clicks). Repeats of a fed item:
    /// A's purchase of 0 (after 1: rank 3) and B's second 1 (after 1: rank 4); new items: A's 1
    /// (rank 2, First), A's 2 (after 0: rank 4), B's first 1 (after 3: rank 5, First).
    func testSessionTargetsSplitRepeatsFromNewItems() throws {
        var s = SessionSet()
        s.append(id: 1, items: [0, 1, 0, 2], types: [click, click, buy, click], times: [1, 2, 3, 4])
        s.append(id: 2, items: [3, 1, 1], types: [click, click, click], times: [5, 6, 7])
        let repeats = try Evaluator.evaluate(model, on: s, options: EvaluationOptions(cutoffs: [3, 5], sessionTargets: .repeat))
        check(repeats.purchase, count: 1, recall: [1, 1], mrr: [1.0 / 3, 1.0 / 3])
        check(repeats.click, count: 1, recall: [0, 1], mrr: [0, 0.25])
        check(repeats.first, count: 0, recall: [0, 0], mrr: [0, 0])
        XCTAssertTrue(repeats.json().contains("\"targets\":\"session:repeat\""))
        let new = try Evaluator.evaluate(model, on: s, options: EvaluationOptions(cutoffs: [3, 5], threads: 2, slots: 1, sessionTargets: .new))
        check(new.purchase, count: 0, recall: [0, 0], mrr: [0, 0])
        check(new.click, count: 3, recall: [1.0 / 3, 1], mrr: [0.5 / 3, (0.5 + 0.25 + 0.2) / 3])
        check(new.first, count: 2, recall: [0.5, 1], mrr: [0.25, 0.35])
        // With one item fed, B's second 1 follows a state fed only 3: new, not a repeat; A's
        // purchase of 0 is still a repeat, ranked after 0 (rank 3).
        let capped = try Evaluator.evaluate(model, on: s, options: EvaluationOptions(cutoffs: [3, 5], coldStart: 1, sessionTargets: .repeat))
        check(capped.purchase, count: 1, recall: [1, 1], mrr: [1.0 / 3, 1.0 / 3])
        check(capped.click, count: 0, recall: [0, 0], mrr: [0, 0])
        // With an item subset the label names both.
        let both = try Evaluator.evaluate(model, on: s, options: EvaluationOptions(
            targets: TargetItems(selected: [true, true, true, true, true], label: "all"), sessionTargets: .new))
        XCTAssertTrue(both.json().contains("\"targets\":\"all,session:new\""))
    }

    func testColdStartCapsFedItems() throws {
        let r = try Evaluator.evaluate(model, on: sessions(),
                                       options: EvaluationOptions(cutoffs: [3, 4], coldStart: 1))
        check(r.purchase, count: 2, recall: [0.5, 1], mrr: [1.0 / 6, (0.25 + 1.0 / 3) / 2])
        check(r.click, count: 1, recall: [1, 1], mrr: [0.5, 0.5])
        // c = 0: nothing is fed, every score is 0, conservative ranks are all 5.
        let r0 = try Evaluator.evaluate(model, on: sessions(), options: EvaluationOptions(cutoffs: [4, 5], coldStart: 0))
        check(r0.purchase, count: 2, recall: [0, 1], mrr: [0, 0.2])
    }

    func testJSONShapeAndValues() throws {
        let r = try Evaluator.evaluate(model, on: sessions(), options: EvaluationOptions(cutoffs: [1, 3]))
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.json().utf8)) as? [String: Any])
        let purchase = try XCTUnwrap(obj["purchase"] as? [String: Any])
        XCTAssertEqual(purchase["count"] as? Int, 2)
        XCTAssertEqual(try XCTUnwrap(purchase["recall@3"] as? Double), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(purchase["mrr@3"] as? Double), 1.0 / 6, accuracy: 1e-12)
        XCTAssertNotNil((obj["first"] as? [String: Any])?["recall@1"])
        XCTAssertEqual(obj["ties"] as? String, "conservative")
        XCTAssertTrue(r.table().contains("purchase"))
        XCTAssertEqual(try XCTUnwrap(r.recall(.purchase, at: 3)), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(r.mrr(.first, at: 1)), 0, accuracy: 1e-12)
        XCTAssertNil(r.recall(.click, at: 5))
    }

    func testRejectsItemsOutsideModel() {
        var s = sessions()
        s.append(id: 13, items: [1, 9], types: [click, click], times: [7, 8])
        XCTAssertThrowsError(try Evaluator.evaluate(model, on: s))
    }
}
