import Foundation
import IRNSupport

/// Where raw events come from: the two YooChoose files, or one TSV events file.
public struct RawSources: Sendable {
    public var clicks: String?
    public var buys: String?
    public var events: String?

    public init(clicks: String? = nil, buys: String? = nil, events: String? = nil) {
        self.clicks = clicks
        self.buys = buys
        self.events = events
    }

    public var paths: [String] { [clicks, buys, events].compactMap { $0 } }

    /// Finds the inputs in a directory: `*clicks*` and `*buys*` files (YooChoose), or a
    /// single `*.tsv`/`*.tsv.gz` events file.
    public static func discover(in dir: String) throws -> RawSources {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted() } catch {
            throw IRNError("cannot list directory: \(error.localizedDescription)", file: dir)
        }
        let files = names.filter { !$0.hasPrefix(".") }
        let clicks = files.first { $0.lowercased().contains("clicks") }
        let buys = files.first { $0.lowercased().contains("buys") }
        if let c = clicks {
            return RawSources(clicks: dir + "/" + c, buys: buys.map { dir + "/" + $0 })
        }
        if let t = files.first(where: { $0.hasSuffix(".tsv") || $0.hasSuffix(".tsv.gz") }) {
            return RawSources(events: dir + "/" + t)
        }
        throw IRNError("no *clicks* / *buys* files and no .tsv events file found", file: dir)
    }

    /// Reads all events and groups them into time-ordered sessions (raw item indices).
    public func loadSessions(progress: Bool = false) throws -> (sessions: SessionSet, itemIds: [Int64]) {
        var raw = RawEvents()
        var reporter = ProgressReporter("load")
        func tick(_ name: String) -> (Int) -> Void {
            { rows in if progress { reporter.tick("\(name): \(rows) rows") } }
        }
        if let e = events {
            if clicks != nil || buys != nil { throw IRNError("give either --events or --clicks/--buys, not both") }
            let rows = try EventLoader.loadTSV(path: e, into: &raw, progress: tick(e))
            if progress { reporter.finish("\(e): \(rows) events") }
        } else {
            guard let c = clicks else { throw IRNError("no input: give --clicks (and --buys) or --events") }
            let rows = try EventLoader.loadYooChoose(path: c, kind: .clicks, into: &raw, progress: tick(c))
            if progress { reporter.finish("\(c): \(rows) clicks") }
            if let b = buys {
                let brows = try EventLoader.loadYooChoose(path: b, kind: .buys, into: &raw, progress: tick(b))
                if progress { reporter.finish("\(b): \(brows) buys") }
            }
        }
        let sessions = raw.takeGrouped()
        return (sessions, raw.itemTable.ids)
    }
}
