import ArgumentParser
import Foundation
import IRNAgents
import IRNData
import IRNSupport

/// `irn train --online`: the paper's online-learning experiment (Figure 4c,d).
struct OnlineOptions: ParsableArguments {
    @Flag(help: "Online learning: one pass over the training split in chronological order, each event used once; before each update the window's purchases are ranked (-tr), and the test split is ranked every --online-eval-every iterations (-te). Records go to --log as JSON lines (default OUT.online.jsonl).")
    var online = false
    @Option(name: .customLong("online-report-every"), help: "Online: iterations per -tr record (purchase Recall@K and MRR@K over the block).")
    var reportEvery = 100
    @Option(name: .customLong("online-eval-every"), help: "Online: iterations between -te evaluations of the test split (0: only at the end).")
    var evalEvery = 500
    @Option(name: .customLong("online-cutoff"), help: "Online: the cut-off K of the recorded Recall@K and MRR@K.")
    var cutoff = 5

    func validate() throws {
        guard reportEvery >= 1, evalEvery >= 0, cutoff >= 1 else {
            throw ValidationError("--online-report-every and --online-cutoff must be at least 1, --online-eval-every at least 0")
        }
    }
}

extension TrainCommand {
    func runOnline() throws {
        let stop = StopFlag()
        let handler = TrainerSignalHandler(flag: stop)
        defer { handler.cancel() }
        do {
            let dataset = try PreparedDataset.load(from: URL(fileURLWithPath: data))
            var config = try agent.config(items: dataset.itemCount)
            let split = trainingSet.split(evaluatingOn: "test")
            // The repeat-next head's transitions come from the split trained on.
            try config.attachTransitions(from: dataset, split: split)
            var o = OnlineTrainer.Options()
            o.density = trainingSet.rewardDensity
            o.reportEvery = online.reportEvery
            o.evalEvery = online.evalEvery
            o.cutoff = online.cutoff
            o.evalThreads = threads
            let trainer = try OnlineTrainer(config: config, trainSet: dataset.sessions(of: split), testSet: dataset.test, options: o)
            let logURL = URL(fileURLWithPath: self.log ?? out + ".online.jsonl")
            var lines = Data()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            printError("online \(config.algorithm.rawValue): \(trainer.totalTransitions) transitions of \(split.rawValue) once, in time order; -tr every \(o.reportEvery) iterations, -te every \(o.evalEvery)")
            try trainer.run(stop: stop) { r in
                lines.append((try? encoder.encode(r)) ?? Data())
                lines.append(0x0A)
                try? AtomicFile.write(lines, to: logURL)
                if !quiet {
                    let te = r.testRecall.map { String(format: ", test R@%d %.4f MRR@%d %.4f", o.cutoff, $0, o.cutoff, r.testMRR ?? 0) } ?? ""
                    printError(String(format: "iteration %d: %d train purchases, R@%d %.4f MRR@%d %.4f", r.iteration, r.trainPurchases, o.cutoff, r.trainRecall, o.cutoff, r.trainMRR) + te)
                }
            }
            try AgentCheckpoint(config: config, parameters: trainer.agent.evaluationParameters, epoch: 1,
                                note: "online pass over \(split.rawValue)").write(to: URL(fileURLWithPath: out))
            print("online pass done: model -> \(out), records -> \(logURL.path)")
        } catch let e as IRNError {
            printError("error: \(e)")
            throw ExitCode.failure
        }
        if stop.isRequested { throw ExitCode(130) }
    }
}
