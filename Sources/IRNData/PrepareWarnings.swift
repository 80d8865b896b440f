import Foundation

/// Data sets that preprocessing can write but that are most likely the result of a careless
/// command line: the data set is still written (the reading may be intended), and
/// `irn data prepare` prints each warning on one line.
public enum PrepareWarnings {
    /// Below this share of the loaded sessions, a `--days` window was probably not meant
    /// (the default 30 days on a data set spanning a year keeps a handful of sessions).
    static let daysKeepShare = 0.10
    /// Above this share of purchases among train events, clicks and buys were probably
    /// swapped (YooChoose: about 3% of the events are purchases after preprocessing, ~30%).
    static let purchaseShare = 0.50
    /// A validation split under this many sessions, or under this share of train, makes
    /// early stopping follow noise.
    static let minValidSessions = 20
    static let minValidShare = 0.01

    static func daysWindow(options: PrepareOptions, kept: Int, loaded: Int, spanDays: Double) -> [String] {
        guard options.days > 0, loaded > 0, Double(kept) < daysKeepShare * Double(loaded) else { return [] }
        return ["--days \(days(options.days)) keeps \(kept) of \(loaded) sessions (\(percent(kept, loaded))); the data spans \(days(spanDays)) days (--days 0 keeps all)"]
    }

    static func splits(train: SessionSet, test: SessionSet, trainTr: SessionSet, valid: SessionSet, options: PrepareOptions) -> [String] {
        var out: [String] = []
        var purchases = 0
        for t in train.types where t == EventType.purchase.rawValue { purchases += 1 }
        if train.eventCount > 0, Double(purchases) > purchaseShare * Double(train.eventCount) {
            out.append("\(percent(purchases, train.eventCount)) of the train events are purchases (a shop has far more clicks): are --clicks and --buys swapped?")
        }
        if test.count == 0 {
            out.append("the test split is empty (--test-days \(days(options.testDays))): `irn eval` will have nothing to rank")
        }
        if valid.count < minValidSessions || Double(valid.count) < minValidShare * Double(train.count) {
            out.append("the validation split holds \(valid.count) sessions (\(percent(valid.count, train.count)) of train, --valid-days \(days(options.validDays))): validation figures and early stopping will be noise")
        }
        return out
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        whole == 0 ? "0%" : String(format: "%.1f%%", 100 * Double(part) / Double(whole))
    }

    /// Days to one decimal, without ".0" (a span of 199 days and 2 seconds reads "199").
    static func days(_ d: Double) -> String {
        let r = (d * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)
    }
}
