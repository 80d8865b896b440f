import Foundation
import IRNAgents
import IRNBaselines
import IRNData
import IRNEvaluation
import IRNNumerics
import IRNServer
import IRNSupport

/// Turns a model file into a Recommender. Each model family registers one loader that
/// returns nil when the file is not its format; `irn eval` tries them in order. The RL
/// agents' safetensors models load through `loadAgent`.
enum EvalModelLoading {
    typealias Loader = @Sendable (URL) throws -> (any Recommender)?

    static let loaders: [(family: String, load: Loader)] = [
        ("baseline", loadBaseline),
        ("agent", loadAgent),
        ("checkpoint", loadCheckpoint),
    ]

    static func load(_ url: URL) throws -> any Recommender {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { throw IRNError("model file not found", file: url.path) }
        guard !isDirectory.boolValue else { throw IRNError("--model is a directory; give a model file (e.g. DIR/model.safetensors)", file: url.path) }
        for (_, loader) in loaders {
            if let m = try loader(url) { return m }
        }
        throw IRNError("not a model file any loader recognises (known families: \(loaders.map(\.family).joined(separator: ", ")))", file: url.path)
    }

    /// Baseline models are safetensors files whose metadata says format "irn-baseline".
    static func loadBaseline(_ url: URL) throws -> (any Recommender)? {
        guard SafetensorsFile.metadata(of: url)?["format"] == ModelArchive.formatName else { return nil }
        return try BaselinePersistence.load(ModelArchive.load(from: url))
    }

    /// Checkpoints of the cluster or of irn train evaluate as the model they hold (a cluster
    /// stopped early leaves only checkpoints).
    static func loadCheckpoint(_ url: URL) throws -> (any Recommender)? {
        guard CheckpointModel.isCheckpoint(url) else { return nil }
        return AgentRecommender(checkpoint: try CheckpointModel.read(url))
    }

    /// Refuses a model or checkpoint that records another data set's fingerprint than
    /// `dataset`'s (same item count, other items: it would score near 0 without a word).
    static func checkData(model url: URL, dataset: PreparedDataset, dataPath: String) throws {
        let m = SafetensorsFile.metadata(of: url)
        let recorded = m?["data_fingerprint"] ?? (CheckpointModel.isCheckpoint(url) ? CheckpointModel.dataFingerprint(of: url) : "")
        let ours = dataset.fingerprint
        guard !recorded.isEmpty, recorded != ours else { return }
        throw DataFingerprint.mismatch("model \(url.path) was trained on other data than \(dataPath)", expected: recorded, expectedSource: url.path,
                                       found: ours, foundSource: dataPath)
    }

    /// The original item ids an agent model or checkpoint carries (nil for other files and
    /// for models written before they carried them).
    static func itemIds(of url: URL) -> [Int64]? {
        if AgentCheckpoint.isAgentModel(url) { return (try? AgentCheckpoint.read(from: url))?.itemIds }
        if CheckpointModel.isCheckpoint(url) { return (try? CheckpointModel.read(url))?.itemIds }
        return nil
    }

    /// Agent models are safetensors files whose metadata says format "irn-agent".
    static func loadAgent(_ url: URL) throws -> (any Recommender)? {
        guard AgentCheckpoint.isAgentModel(url) else { return nil }
        return AgentRecommender(checkpoint: try AgentCheckpoint.read(from: url))
    }
}
