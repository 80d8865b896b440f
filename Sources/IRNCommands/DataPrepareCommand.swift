import ArgumentParser
import Foundation
import IRNData
import IRNSupport

/// `irn data prepare`: raw YooChoose / TSV events -> a prepared data set directory.
struct DataPrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Preprocess raw sessions into train/test/train_tr/valid splits (docs/algorithm.md, \"Data and preprocessing\").",
        discussion: """
        Sessions are clicks and buys merged by time (ties: clicks first). Then: keep sessions \
        starting within --days of the data's last event; keep sessions with a purchase; drop \
        items with < 5 events and sessions with < 2, repeated until stable. Test = sessions whose \
        last event is at or after (last event - --test-days); test events on items not in train are \
        dropped, then test sessions shorter than 2. Validation is cut from train the same way with \
        --valid-days, counted back from the test cut, against the items of the rest of train. \
        DIR gets sessions.bin (fast binary form), items.tsv (item map), dataset.json (counts, \
        options, shard sizes); it is written under a temporary name and renamed when complete.
        """
    )

    @Option(name: .long, help: "YooChoose clicks file (SessionId,Timestamp,ItemId,Category), plain or .gz.")
    var clicks: String?

    @Option(name: .long, help: "YooChoose buys file (SessionId,Timestamp,ItemId,Price,Quantity), plain or .gz.")
    var buys: String?

    @Option(name: .long, help: "TSV events file with header SessionId<TAB>ItemId<TAB>Time[<TAB>Type] (Time: seconds or ISO-8601; Type: click/purchase), instead of --clicks/--buys.")
    var events: String?

    @Option(name: .long, help: "Output directory (replaced atomically).")
    var out: String

    @Option(name: .long, help: "Keep sessions whose first event is within this many days of the data's last event; 0 keeps all.")
    var days: Double = 30

    @Option(name: .customLong("test-days"), help: "Test = sessions whose last event is within this many days of the last event.")
    var testDays: Double = 3

    @Option(name: .customLong("valid-days"), help: "Validation = train sessions whose last event is within this many days before the test cut.")
    var validDays: Double = 1

    @Flag(name: .customLong("all-sessions"), help: "Keep sessions without a purchase too.")
    var allSessions = false

    @Option(name: .long, help: "Number of shards sessions are spread over (stable hash of the session id).")
    var shards: Int = 64

    func validate() throws {
        if events == nil && clicks == nil { throw ValidationError("give --clicks and --buys, or --events") }
        if events != nil && (clicks != nil || buys != nil) { throw ValidationError("give either --events or --clicks/--buys, not both") }
        if clicks != nil && buys == nil && !allSessions {
            throw ValidationError("--buys is required (purchases define the kept sessions) unless --all-sessions")
        }
        if shards < 1 || shards > 65_535 { throw ValidationError("--shards must be in 1...65535") }
        if days < 0 || testDays < 0 || validDays < 0 { throw ValidationError("--days, --test-days, --valid-days must be >= 0") }
    }

    func run() throws {
        do {
            let start = monotonicSeconds()
            let sources = RawSources(clicks: clicks, buys: buys, events: events)
            let options = PrepareOptions(days: days, testDays: testDays, validDays: validDays,
                                         allSessions: allSessions, shards: shards)
            let url = URL(fileURLWithPath: out)
            let (data, log) = try PreparePipeline.run(sources: sources, options: options, out: url, progress: true)
            for w in log.warnings { printError("warning: \(w)") }
            for (name, set) in data.splits {
                let c = PreparedDataset.SplitCounts(set)
                print("\(name.padding(toLength: 9, withPad: " ", startingAt: 0)) sessions \(c.sessions)  events \(c.events)  purchases \(c.purchases)  items \(c.items)")
            }
            print("items \(data.itemCount), shards \(data.shardCount) -> \(url.path)")
            printError("[prepare] done in \(String(format: "%.1f", monotonicSeconds() - start)) s, peak RSS \(Int(peakResidentMB())) MB")
        } catch let e as IRNError {
            printError("irn: error: \(e)")
            throw ExitCode.failure
        }
    }
}
