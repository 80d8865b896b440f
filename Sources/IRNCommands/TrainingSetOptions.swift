import ArgumentParser
import IRNData

extension TrainSplit: ExpressibleByArgument {}

/// What the agents learn from, shared by `irn train` and `irn-server` (and `--train-split`
/// by `irn baseline`): the split and the reward density.
struct TrainingSetOptions: ParsableArguments {
    @Option(name: .customLong("train-split"), help: "Training split: train_tr (train minus the validation sessions) or train (all of it, for the final retrain before test). Default: train_tr when evaluating on valid, train on test.")
    var trainSplit: TrainSplit?

    @Option(name: .customLong("reward-density"), help: "Reward density d in [0, 1]: each training purchase stays a purchase with probability d (seeded per event, the same draw every epoch and on every actor); 0 leaves no purchase reward (IRN-P then learns from imagination alone).")
    var rewardDensity: Double = 1

    func validate() throws {
        do { try RewardModel.validate(density: rewardDensity) } catch { throw ValidationError("\(error)") }
    }

    /// The split, or the default for an evaluation on `evalSplit`.
    func split(evaluatingOn evalSplit: String) -> TrainSplit {
        trainSplit ?? .forEvaluation(on: evalSplit)
    }
}
