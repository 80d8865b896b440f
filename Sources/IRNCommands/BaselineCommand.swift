import ArgumentParser
import Foundation
import IRNBaselines
import IRNData
import IRNEvaluation
import IRNSupport

extension KNNSimilarity: ExpressibleByArgument {}
extension GRU4RecModel.Config.Optimizer: ExpressibleByArgument {}
extension GRU4RecModel.Config.Loss: ExpressibleByArgument {}

/// `irn baseline`: trains one of the paper's baselines and evaluates it with the shared evaluator.
struct BaselineCommand: ParsableCommand {
    enum Method: String, ExpressibleByArgument, CaseIterable { case pop, spop, spopMarkov = "spop-markov", bpr, cknn, gru4rec }

    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Train and evaluate a baseline: pop, spop, spop-markov, bpr, cknn or gru4rec.",
        discussion: """
        pop: global popularity in the training set. spop: the session's own items first (by \
        count so far, then most recent), then popularity. spop-markov: spop's session items, then \
        the last item's followers in training by transition count, then popularity. bpr: BPR-MF, a session scored by the \
        mean of its items' factors. cknn: session-based kNN (Jannach & Ludewig 2017). gru4rec: \
        GRU4Rec with BPR-max over in-batch negatives. Prints the same table / JSON as `irn eval`; \
        --save writes a model file `irn eval --model` reads.
        """
    )

    @Option(help: "Prepared data set directory (from `irn data prepare`).")
    var data: String

    @Option(help: "Baseline: pop, spop, spop-markov, bpr, cknn or gru4rec.")
    var method: Method

    @Option(name: .customLong("train-split"), help: "Training split: train_tr (train minus the validation sessions) or train. Default: train_tr for --split valid, train for --split test.")
    var trainSplit: TrainSplit?

    @Option(help: "Write the trained model to this file.")
    var save: String?

    @Option(help: "Random seed (bpr, gru4rec).")
    var seed: UInt64 = 42

    @OptionGroup var eval: EvalFlags

    // cknn
    @Option(name: .customLong("knn-k"), help: "cknn: number of nearest neighbours.")
    var knnK = 100
    @Option(name: .customLong("knn-sample"), help: "cknn: neighbours are drawn from this many most recent sessions sharing an item (0 = all).")
    var knnSample = 500
    @Option(name: .customLong("knn-similarity"), help: "cknn: cosine, or reference-cosine (the public reference code's |A∩B|/sqrt|A|*sqrt|B|).")
    var knnSimilarity: KNNSimilarity = .cosine

    // bpr
    @Option(name: .customLong("bpr-factors"), help: "bpr: latent factors.")
    var bprFactors = 100
    @Option(name: .customLong("bpr-epochs"), help: "bpr: epochs over all (session, event) pairs.")
    var bprEpochs = 30
    @Option(name: .customLong("bpr-lr"), help: "bpr: SGD learning rate.")
    var bprLearningRate: Float = 0.1
    @Option(name: .customLong("bpr-reg"), help: "bpr: L2 regularisation.")
    var bprRegularization: Float = 0.001

    // gru4rec
    @Option(name: .customLong("gru-hidden"), help: "gru4rec: GRU units.")
    var gruHidden = 100
    @Option(name: .customLong("gru-batch"), help: "gru4rec: session-parallel mini-batch size (the negatives are the batch's other targets).")
    var gruBatch = 32
    @Option(name: .customLong("gru-epochs"), help: "gru4rec: epochs.")
    var gruEpochs = 10
    @Option(name: .customLong("gru-lr"), help: "gru4rec: learning rate.")
    var gruLearningRate: Float = 0.2
    @Option(name: .customLong("gru-momentum"), help: "gru4rec: momentum (Adagrad only; 0 = none).")
    var gruMomentum: Float = 0.3
    @Option(name: .customLong("gru-optimizer"), help: "gru4rec: adagrad or adam.")
    var gruOptimizer: GRU4RecModel.Config.Optimizer = .adagrad
    @Option(name: .customLong("gru-loss"), help: "gru4rec: bpr-max (the IRN paper's) or xe (cross-entropy over the same in-batch and sampled columns, linear scores: the reference's next-click setting).")
    var gruLoss: GRU4RecModel.Config.Loss = .bprMax
    @Option(name: .customLong("gru-bpreg"), help: "gru4rec: BPR-max score regularisation.")
    var gruBpreg: Float = 1.0
    @Option(name: .customLong("gru-elu-alpha"), help: "gru4rec: alpha of the elu final activation (bpr-max only).")
    var gruEluAlpha: Float = 0.5
    @Option(name: .customLong("gru-samples"), help: "gru4rec: extra negatives per mini-batch besides the batch's other targets (the reference sample uses 2048; the IRN paper none).")
    var gruSamples = 0
    @Option(name: .customLong("gru-sample-alpha"), help: "gru4rec: extra negatives drawn with probability popularity^alpha (0 = uniform over training items).")
    var gruSampleAlpha: Float = 0

    func run() throws {
        do {
            if let save { try OutputFolder.check(save, flag: "--save") }
            var options = try eval.options(progress: !eval.json)
            let dataset = try PreparedDataset.load(from: URL(fileURLWithPath: data))
            options.targets = try eval.targets(of: dataset)
            let sessions = try eval.sessions(of: dataset)
            let part = trainSplit ?? .forEvaluation(on: eval.split)
            let train = dataset.sessions(of: part)
            let start = monotonicSeconds()
            let model = try self.train(on: train, itemCount: dataset.itemCount, progress: !eval.json)
            let trainSeconds = monotonicSeconds() - start
            if let path = save {
                try BaselinePersistence.archive(model).save(to: URL(fileURLWithPath: path))
                if !eval.json { printError("saved \(method.rawValue) model to \(path)") }
            }
            let result = try Evaluator.evaluate(model, on: sessions, options: options)
            eval.report(result, extra: [("method", jsonString(method.rawValue)), ("split", jsonString(eval.split)),
                                        ("train_split", jsonString(part.rawValue)), ("train_seconds", String(format: "%.3f", trainSeconds))])
        } catch let e as IRNError {
            printError("irn: error: \(e)")
            throw ExitCode.failure
        }
    }

    /// Builds (and for bpr/gru4rec trains) the chosen baseline; shared with `irn bench baseline`.
    func train(on train: SessionSet, itemCount: Int, progress: Bool) throws -> any Recommender {
        switch method {
        case .pop: return PopularityModel(train: train, itemCount: itemCount)
        case .spop: return SessionRepeatModel(train: train, itemCount: itemCount)
        case .spopMarkov: return SessionMarkovModel(train: train, itemCount: itemCount)
        case .cknn:
            guard knnK >= 1, knnSample >= 0 else { throw ValidationError("--knn-k must be >= 1 and --knn-sample >= 0") }
            return SessionKNNModel(train: train, itemCount: itemCount,
                                   config: .init(k: knnK, sampleSize: knnSample, similarity: knnSimilarity))
        case .bpr:
            guard bprFactors >= 1, bprEpochs >= 0 else { throw ValidationError("--bpr-factors must be >= 1, --bpr-epochs >= 0") }
            var c = BPRModel.Config()
            c.factors = bprFactors; c.epochs = bprEpochs; c.learningRate = bprLearningRate
            c.regularization = bprRegularization; c.seed = seed
            return BPRModel.train(train, itemCount: itemCount, config: c, progress: progress)
        case .gru4rec:
            guard gruHidden >= 1, gruBatch >= 1, gruBatch + gruSamples >= 2, gruEpochs >= 0, gruSamples >= 0 else {
                throw ValidationError("--gru-hidden and --gru-batch must be >= 1, --gru-batch + --gru-samples >= 2 (the loss needs negatives), --gru-epochs and --gru-samples >= 0")
            }
            var c = GRU4RecModel.Config()
            c.hidden = gruHidden; c.batchSize = gruBatch; c.epochs = gruEpochs; c.learningRate = gruLearningRate
            c.momentum = gruMomentum; c.optimizer = gruOptimizer; c.bpreg = gruBpreg; c.eluAlpha = gruEluAlpha; c.seed = seed
            c.loss = gruLoss
            c.negativeSamples = gruSamples; c.sampleAlpha = gruSampleAlpha
            let trainer = GRU4RecTrainer(itemCount: itemCount, config: c)
            let (events, seconds) = trainer.train(train, progress: progress)
            if progress { printError("gru4rec: \(events) training events in \(String(format: "%.1f", seconds)) s (\(Int(Double(events) / max(seconds, 1e-9))) events/s)") }
            return trainer.model
        }
    }
}
