import ArgumentParser
import COpenBLAS
import Foundation
import IRNData
import IRNEvaluation

extension TieRule: ExpressibleByArgument {}
extension SessionTargets: ExpressibleByArgument {}

/// The evaluation flags shared by `irn eval` and `irn baseline`.
struct EvalFlags: ParsableArguments {
    @Option(help: "Comma-separated cut-offs K for Recall@K and MRR@K.")
    var cutoffs: String = "3,5,10,20"

    @Option(help: "Tie rule: conservative (rank = 1 + others scoring >= target) or strict (1 + others scoring higher).")
    var ties: TieRule = .conservative

    @Option(name: .customLong("cold-start"), help: "Feed at most this many items of each session into the state (later events are still ranked). Default: no cap.")
    var coldStart: Int?

    @Option(help: "Which split to evaluate: test or valid.")
    var split: String = "test"

    @Option(name: .customLong("targets-in"), help: "Count only the events whose item occurs in this split (train, train_tr, valid, test); the others still feed the state. E.g. train_tr: the items a model trained on train_tr could learn.")
    var targetsIn: String?

    @Option(name: .customLong("targets-not-in"), help: "Count only the events whose item does not occur in this split (the complement of --targets-in).")
    var targetsNotIn: String?

    @Option(name: .customLong("targets-session"), help: "Count only the events whose item repeats one already fed in the session (repeat) or does not (new); the others still feed the state. Combines with --targets-in/--targets-not-in.")
    var targetsSession: SessionTargets?

    @Option(help: "Evaluation threads (each with its own scorer).")
    var threads: Int = 2

    @Option(help: "Sessions each evaluation thread advances in lock step (batch of the scorer).")
    var slots: Int = 64

    @Flag(help: "Print the figures as one JSON object instead of a table.")
    var json = false

    func options(progress: Bool) throws -> EvaluationOptions {
        let parts = cutoffs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let ks = parts.compactMap { Int($0) }
        guard !ks.isEmpty, ks.count == parts.count, ks.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--cutoffs must be positive integers separated by commas, got '\(cutoffs)'")
        }
        if let c = coldStart, c < 0 { throw ValidationError("--cold-start must be >= 0, got \(c)") }
        guard threads >= 1, slots >= 1 else { throw ValidationError("--threads and --slots must be >= 1") }
        // Each evaluation thread runs its own products; OpenBLAS threads on top of them only
        // contend for the same cores (measured: 13k vs 21k events/s at 256 units, 2 cores).
        if threads > 1 { openblas_set_num_threads(1) }
        return EvaluationOptions(cutoffs: ks, ties: ties, coldStart: coldStart, threads: threads, slots: slots,
                                 showProgress: progress, sessionTargets: targetsSession)
    }

    /// The target item subset of --targets-in / --targets-not-in, nil when neither is given.
    func targets(of data: PreparedDataset) throws -> TargetItems? {
        if targetsIn != nil && targetsNotIn != nil {
            throw ValidationError("--targets-in and --targets-not-in exclude each other")
        }
        guard let name = targetsIn ?? targetsNotIn else { return nil }
        guard let split = data.split(named: name) else {
            throw ValidationError("--targets-\(targetsIn != nil ? "in" : "not-in") must name a split (train, train_tr, valid, test), got '\(name)'")
        }
        let inSplit = targetsIn != nil
        return TargetItems(itemCount: data.itemCount, occurringIn: split, inSplit: inSplit,
                           label: (inSplit ? "in:" : "not-in:") + name)
    }

    func sessions(of data: PreparedDataset) throws -> SessionSet {
        switch split {
        case "test": return data.test
        case "valid": return data.valid
        default: throw ValidationError("--split must be test or valid, got '\(split)'")
        }
    }

    /// Prints the result as JSON (with `extra` fields) or as a table (with `extra` lines).
    func report(_ r: EvaluationResult, extra: [(String, String)] = []) {
        if json {
            print(r.json(extra: extra))
        } else {
            for (k, v) in extra {
                let plain = v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 ? String(v.dropFirst().dropLast()) : v
                print("\(k): \(plain)")
            }
            print(r.table())
            print("ranked \(r.purchase.count + r.click.count) events in \(String(format: "%.2f", r.seconds)) s (\(Int(r.eventsPerSecond)) events/s)")
        }
    }
}
