import Foundation
import IRNSupport

/// Every evaluation of a cluster run, one line each, next to the model: `<model>.eval-history.csv`
/// (step, final, seconds, then the metrics in name order) and `<model>.eval-history.jsonl`
/// (the same as JSON objects). The server's log lines are no history a plot can read;
/// `scripts/plot-eval-history` draws these files. A fresh run starts the files over; a
/// resumed run appends.
public final class EvaluationHistory: @unchecked Sendable {
    public let csvURL: URL
    public let jsonlURL: URL
    private let lock = Locked(())

    public init(model: URL) {
        let base = model.deletingPathExtension()
        csvURL = base.appendingPathExtension("eval-history.csv")
        jsonlURL = base.appendingPathExtension("eval-history.jsonl")
    }

    /// Removes the files of an earlier run (a fresh start).
    public func reset() {
        lock.withLock { _ in
            try? FileManager.default.removeItem(at: csvURL)
            try? FileManager.default.removeItem(at: jsonlURL)
        }
    }

    /// Appends one evaluation (`metrics` as `BackgroundEvaluator.metrics` gives them).
    public func append(_ metrics: [String: Double], final: Bool) throws {
        try lock.withLock { _ in
            let step = metrics["step"] ?? 0, seconds = metrics["seconds"] ?? 0
            let names = metrics.keys.filter { $0 != "step" && $0 != "seconds" }.sorted()
            func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)" }
            var csv = ""
            if !FileManager.default.fileExists(atPath: csvURL.path) {
                csv += (["step", "final", "seconds"] + names).joined(separator: ",") + "\n"
            }
            csv += ([number(step), final ? "1" : "0", "\(seconds)"] + names.map { number(metrics[$0]!) }).joined(separator: ",") + "\n"
            var object: [String: Any] = ["final": final]
            for (k, v) in metrics { object[k] = k == "step" ? Int64(v) as Any : v as Any }
            var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            line.append(0x0A)
            try Self.append(Data(csv.utf8), to: csvURL)
            try Self.append(line, to: jsonlURL)
        }
    }

    private static func append(_ data: Data, to url: URL) throws {
        let fm = FileManager.default
        do {
            if !fm.fileExists(atPath: url.path) {
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: url)
                return
            }
            let h = try FileHandle(forWritingTo: url)
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: data)
        } catch {
            throw IRNError("cannot append to the evaluation history: \(error.localizedDescription)", file: url.path)
        }
    }
}
