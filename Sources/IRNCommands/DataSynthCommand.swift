import ArgumentParser
import Foundation
import IRNData
import IRNSupport

/// `irn data synth`: YooChoose-format files of a synthetic shop.
struct DataSynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate YooChoose-format clicks and buys files of a realistic synthetic shop.",
        discussion: """
        Writes DIR/yoochoose-clicks.dat and DIR/yoochoose-buys.dat (.gz with --gzip) and \
        DIR/synth.json (the parameters). The shop has Zipf-like item popularity, items in latent \
        categories that sessions mostly stay in, neighbour-item transitions, repeated clicks, about \
        5.6% buying sessions that are longer, and purchases of items clicked earlier. Compare with \
        real data by `irn data stats DIR`. Deterministic by --seed; the directory is written under \
        a temporary name and renamed when complete.
        """
    )

    @Option(name: .long, help: "Number of sessions (the full challenge data has about 9.2 million).")
    var sessions: Int = 200_000

    @Option(name: .long, help: "Number of items in the catalogue (the challenge data has about 52,000).")
    var items: Int = 20_000

    @Option(name: .long, help: "Random seed; the same seed gives the same files.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Output directory (replaced atomically).")
    var out: String

    @Flag(name: .long, help: "Write gzip-compressed files (.gz, compression level 1).")
    var gzip = false

    @Option(name: .long, help: "Latent categories (0 = items / 300).")
    var categories: Int = 0

    @Option(name: .customLong("buyer-share"), help: "Share of sessions with a purchase.")
    var buyerShare: Double = 0.056

    func validate() throws {
        if sessions < 1 { throw ValidationError("--sessions must be at least 1") }
        if items < 10 { throw ValidationError("--items must be at least 10") }
        if !(0...1).contains(buyerShare) { throw ValidationError("--buyer-share must be in [0, 1]") }
        if categories < 0 { throw ValidationError("--categories must be >= 0") }
    }

    func run() throws {
        do {
            var config = SyntheticShop.Config(sessions: sessions, items: items, seed: seed)
            config.categories = categories
            config.buyerShare = buyerShare
            let start = monotonicSeconds()
            let (clicks, buys) = try SyntheticShop(config).write(to: URL(fileURLWithPath: out), gzip: gzip, progress: true)
            print("\(sessions) sessions, \(clicks) clicks, \(buys) buys -> \(out)")
            printError("[synth] done in \(String(format: "%.1f", monotonicSeconds() - start)) s, peak RSS \(Int(peakResidentMB())) MB")
        } catch let e as IRNError {
            printError("irn: error: \(e)")
            throw ExitCode.failure
        }
    }
}
