import ArgumentParser
import Foundation
import IRNData
import IRNSupport

/// `irn data stats PATH`: the shape of raw or prepared session data.
struct DataStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print shape statistics of raw or prepared session data.",
        discussion: """
        PATH is a prepared directory (holding dataset.json; statistics per split), a directory \
        holding YooChoose *clicks* and *buys* files or one .tsv events file, a clicks file (its \
        buys file given by --buys), or a TSV events file. Raw data is grouped into sessions but \
        not filtered. Compare `irn data synth` output with real data this way.
        """
    )

    @Argument(help: "Prepared directory, raw data directory, YooChoose clicks file or TSV events file.")
    var path: String

    @Option(name: .long, help: "Buys file to go with a clicks file given as PATH.")
    var buys: String?

    @Option(name: .long, help: "For a prepared directory: only this split (train, test, train_tr, valid).")
    var split: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .customLong("time-load"), help: "Report how long loading took (prepared data: the binary load).")
    var timeLoad = false

    func run() throws {
        do {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw IRNError("no such file or directory", file: path)
            }
            let start = monotonicSeconds()
            var results: [(String, ShapeStats)] = []
            if isDir.boolValue && FileManager.default.fileExists(atPath: path + "/" + PreparedDataset.manifestName) {
                let data = try PreparedDataset.load(from: URL(fileURLWithPath: path))
                let loadSeconds = monotonicSeconds() - start
                if timeLoad {
                    printError("loaded \(path) in \(String(format: "%.3f", loadSeconds)) s (\(data.train.eventCount + data.test.eventCount + data.trainTr.eventCount + data.valid.eventCount) events over 4 splits), peak RSS \(Int(peakResidentMB())) MB")
                }
                for (name, set) in data.splits where split == nil || split == name {
                    results.append((name, ShapeStats(set)))
                }
                if results.isEmpty { throw IRNError("no split named \(split ?? "") (train, test, train_tr, valid)") }
            } else {
                let sources: RawSources
                if isDir.boolValue {
                    sources = try RawSources.discover(in: path)
                } else if path.hasSuffix(".tsv") || path.hasSuffix(".tsv.gz") {
                    sources = RawSources(events: path)
                } else {
                    sources = RawSources(clicks: path, buys: buys)
                }
                let (sessions, _) = try sources.loadSessions(progress: !json)
                if timeLoad { printError("loaded and grouped raw data in \(String(format: "%.3f", monotonicSeconds() - start)) s") }
                results.append(("raw", ShapeStats(sessions)))
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                var dict: [String: ShapeStats] = [:]
                for (n, s) in results { dict[n] = s }
                print(String(decoding: try encoder.encode(dict), as: UTF8.self))
            } else {
                for (n, s) in results {
                    print("== \(n)")
                    print(s.report)
                }
            }
        } catch let e as IRNError {
            printError("irn: error: \(e)")
            throw ExitCode.failure
        }
    }
}
