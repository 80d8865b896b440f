import ArgumentParser
import Foundation
import IRNAgents
import IRNData
import IRNEvaluation
import IRNSupport

/// `irn eval`: ranks a saved model on a prepared data set with the shared evaluator.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a saved model: Recall@K and MRR@K for purchase, click and First events.",
        discussion: """
        Every test position t >= 1 of every session is ranked: the state holds events 0..t-1 \
        (capped by --cold-start) and the item of event t is ranked against all items. \
        Figures are given separately for purchase events, click events and First (t = 1), \
        with their counts. Models: any saved with `irn baseline --save`, agent models of `irn train` \
        and `irn-server`, and their checkpoints (server checkpoint-<step>.safetensors, irn train \
        OUT.checkpoint.safetensors). A model that records the fingerprint of another data set \
        than --data is refused.
        """
    )

    @Option(help: "Prepared data set directory (from `irn data prepare`).")
    var data: String

    @Option(help: "Model file to evaluate (a model, or a checkpoint of irn-server or irn train).")
    var model: String

    @OptionGroup var eval: EvalFlags

    func run() throws {
        do {
            var options = try eval.options(progress: !eval.json)
            let dataset = try PreparedDataset.load(from: URL(fileURLWithPath: data))
            options.targets = try eval.targets(of: dataset)
            let sessions = try eval.sessions(of: dataset)
            try EvalModelLoading.checkData(model: URL(fileURLWithPath: model), dataset: dataset, dataPath: data)
            let loaded = try EvalModelLoading.load(URL(fileURLWithPath: model))
            // A repeat-next agent rebuilds its transition table from this data (checksum checked).
            let recommender = try (loaded as? AgentRecommender)?.attachingTransitions(from: dataset) ?? loaded
            guard recommender.itemCount == dataset.itemCount else {
                throw IRNError("model scores \(recommender.itemCount) items but the data set has \(dataset.itemCount)", file: model)
            }
            let result = try Evaluator.evaluate(recommender, on: sessions, options: options)
            eval.report(result, extra: [("model", jsonString(model)), ("split", jsonString(eval.split))])
        } catch let e as IRNError {
            printError("irn: error: \(e)")
            throw ExitCode.failure
        }
    }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String { JSONText.quoted(s) }
