import Foundation
import IRNSupport

/// The groups every figure is reported for.
public enum EvaluationCategory: Int, Sendable, CaseIterable {
    case purchase = 0, click = 1, first = 2
    public var name: String { ["purchase", "click", "first"][rawValue] }
}

/// Recall@K and MRR@K of one category, with the number of events behind them.
public struct CategoryMetrics: Sendable, Equatable {
    public var count: Int
    /// recall[i] and mrr[i] belong to cutoffs[i] of the result.
    public var recall: [Double]
    public var mrr: [Double]
}

/// Running sums of hits and reciprocal ranks per category and cut-off. Merging two
/// accumulators gives the same figures as one that saw all events.
public struct MetricsAccumulator: Sendable {
    public let cutoffs: [Int]
    public private(set) var counts = [Int](repeating: 0, count: 3)
    private var hits: [Int]
    private var reciprocal: [Double]

    public init(cutoffs: [Int]) {
        precondition(!cutoffs.isEmpty && cutoffs.allSatisfy { $0 > 0 }, "cut-offs must be positive")
        self.cutoffs = cutoffs
        hits = [Int](repeating: 0, count: 3 * cutoffs.count)
        reciprocal = [Double](repeating: 0, count: 3 * cutoffs.count)
    }

    /// The largest rank that can still count.
    public var maxCutoff: Int { cutoffs.max()! }

    /// Adds one ranked event to `category`.
    @inlinable public mutating func add(rank: Int, to category: EvaluationCategory) {
        addRank(rank, category.rawValue)
    }

    @usableFromInline mutating func addRank(_ rank: Int, _ c: Int) {
        counts[c] += 1
        let k = cutoffs.count
        for j in 0..<k where rank <= cutoffs[j] {
            hits[c * k + j] += 1
            reciprocal[c * k + j] += 1.0 / Double(rank)
        }
    }

    public mutating func merge(_ other: MetricsAccumulator) {
        precondition(other.cutoffs == cutoffs)
        for i in 0..<3 { counts[i] += other.counts[i] }
        for i in 0..<hits.count {
            hits[i] += other.hits[i]
            reciprocal[i] += other.reciprocal[i]
        }
    }

    public func metrics(_ category: EvaluationCategory) -> CategoryMetrics {
        let c = category.rawValue, k = cutoffs.count
        let n = Double(max(counts[c], 1))
        return CategoryMetrics(
            count: counts[c],
            recall: (0..<k).map { Double(hits[c * k + $0]) / n },
            mrr: (0..<k).map { reciprocal[c * k + $0] / n })
    }
}

/// The outcome of one evaluation: figures per category and how they were computed.
public struct EvaluationResult: Sendable {
    public var cutoffs: [Int]
    public var ties: TieRule
    public var coldStart: Int?
    /// The label of the target item subset counted (EvaluationOptions.targets), nil = all.
    public var targets: String?
    public var purchase: CategoryMetrics
    public var click: CategoryMetrics
    public var first: CategoryMetrics
    /// Wall-clock seconds of the ranking pass and events ranked per second.
    public var seconds: Double
    public var eventsPerSecond: Double

    public init(accumulator a: MetricsAccumulator, ties: TieRule, coldStart: Int?, targets: String? = nil,
                seconds: Double) {
        cutoffs = a.cutoffs
        self.ties = ties
        self.coldStart = coldStart
        self.targets = targets
        purchase = a.metrics(.purchase)
        click = a.metrics(.click)
        first = a.metrics(.first)
        self.seconds = seconds
        let events = a.counts[0] + a.counts[1]
        eventsPerSecond = seconds > 0 ? Double(events) / seconds : 0
    }

    public subscript(_ c: EvaluationCategory) -> CategoryMetrics {
        switch c { case .purchase: purchase; case .click: click; case .first: first }
    }

    /// Recall@k of a category, nil if k is not one of the cut-offs (e.g. for early stopping:
    /// `result.recall(.purchase, at: 5)`).
    public func recall(_ c: EvaluationCategory, at k: Int) -> Double? {
        cutoffs.firstIndex(of: k).map { self[c].recall[$0] }
    }

    /// MRR@k of a category, nil if k is not one of the cut-offs.
    public func mrr(_ c: EvaluationCategory, at k: Int) -> Double? {
        cutoffs.firstIndex(of: k).map { self[c].mrr[$0] }
    }

    /// `{"purchase":{"recall@3":..,"mrr@3":..,...,"count":..},"click":{...},"first":{...},
    /// "ties":"conservative","cold_start":null}` plus any `extra` top-level fields (already
    /// JSON-encoded values), in a fixed key order.
    public func json(extra: [(String, String)] = []) -> String {
        var parts: [String] = []
        for c in EvaluationCategory.allCases {
            let m = self[c]
            var fields: [String] = []
            for (j, k) in cutoffs.enumerated() {
                fields.append("\"recall@\(k)\":\(jsonNumber(m.recall[j]))")
                fields.append("\"mrr@\(k)\":\(jsonNumber(m.mrr[j]))")
            }
            fields.append("\"count\":\(m.count)")
            parts.append("\"\(c.name)\":{\(fields.joined(separator: ","))}")
        }
        parts.append("\"ties\":\"\(ties.rawValue)\"")
        parts.append("\"cold_start\":\(coldStart.map(String.init) ?? "null")")
        if let targets { parts.append("\"targets\":\(JSONText.quoted(targets))") }
        for (k, v) in extra { parts.append("\"\(k)\":\(v)") }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// A fixed-width table: one row per category, Recall@K and MRR@K columns, counts.
    public func table() -> String {
        var header = "category  " + "count".leftPadded(8)
        for k in cutoffs { header += ("R@\(k)").leftPadded(8) + ("MRR@\(k)").leftPadded(9) }
        var lines = [header]
        for c in EvaluationCategory.allCases {
            let m = self[c]
            var line = c.name.padding(toLength: 10, withPad: " ", startingAt: 0) + "\(m.count)".leftPadded(8)
            for j in cutoffs.indices {
                line += String(format: "%8.4f", m.recall[j]) + String(format: "%9.4f", m.mrr[j])
            }
            lines.append(line)
        }
        lines.append("ties: \(ties.rawValue); cold start: \(coldStart.map(String.init) ?? "none")"
                     + (targets.map { "; targets: \($0)" } ?? ""))
        return lines.joined(separator: "\n")
    }
}

/// Shortest round-trip decimal of a Double, valid JSON (no NaN/inf in our metrics).
func jsonNumber(_ x: Double) -> String {
    x.isFinite ? "\(x)" : "null"
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
