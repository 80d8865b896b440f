import IRNSupport

/// The part of `train` an agent or baseline learns from: `train_tr` (train minus the
/// validation sessions, for picking settings on `valid`) or all of `train` (the final
/// retrain before `test`).
public enum TrainSplit: String, CaseIterable, Codable, Sendable {
    case train
    case trainTr = "train_tr"

    /// The default for an evaluation on `split`: train_tr for valid, train for test.
    public static func forEvaluation(on split: String) -> TrainSplit { split == "valid" ? .trainTr : .train }
}

extension PreparedDataset {
    public func sessions(of split: TrainSplit) -> SessionSet { split == .train ? train : trainTr }
}

extension RewardModel {
    /// The one check of a reward density d (every command and the cluster settings use it):
    /// d in [0, 1]; 0 keeps no purchase reward (IRN-P then learns from imagination alone).
    public static func validate(density d: Double) throws {
        guard d >= 0 && d <= 1 else { throw IRNError("--reward-density must be in [0, 1], got \(d)") }
    }
}
