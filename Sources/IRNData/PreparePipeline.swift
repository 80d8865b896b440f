import Foundation
import IRNSupport

/// `irn data prepare` as one call: read the raw files, preprocess, save atomically.
/// Any error (bad line, empty file, nothing left after filtering, failed write) leaves
/// nothing at `out` that was not there before.
public enum PreparePipeline {
    public static func run(sources: RawSources, options: PrepareOptions, out: URL,
                           progress: Bool = false) throws -> (data: PreparedDataset, log: Preprocessor.Log) {
        let start = monotonicSeconds()
        let (raw, itemIds) = try sources.loadSessions(progress: progress)
        if progress {
            printError("[prepare] \(raw.count) sessions, \(raw.eventCount) events, \(itemIds.count) items loaded and grouped in \(String(format: "%.1f", monotonicSeconds() - start)) s")
        }
        var log = Preprocessor.Log()
        var data = try Preprocessor.prepare(raw: raw, rawItemIds: itemIds, options: options, log: &log)
        data.options = options
        if progress {
            printError("[prepare] after --days: \(log.afterDays) sessions; with a purchase: \(log.afterPurchase); after the support filter (\(log.filterRounds) rounds): \(log.afterFilterSessions) sessions, \(log.afterFilterEvents) events")
        }
        try data.save(to: out, sources: sources.paths)
        return (data, log)
    }
}
