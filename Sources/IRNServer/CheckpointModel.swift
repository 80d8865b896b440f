import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport

/// A checkpoint read as an agent model: the server's `checkpoint-<step>.safetensors` or
/// `irn train`'s training checkpoint. A cluster stopped early leaves only checkpoints;
/// `irn export` writes this model to a file and `irn eval` reads checkpoints through it.
/// The model carries the checkpoint's agent config, data fingerprint and item map.
public enum CheckpointModel {
    /// Whether `url` is a checkpoint of either kind (reads the header only).
    public static func isCheckpoint(_ url: URL) -> Bool {
        guard let m = SafetensorsFile.metadata(of: url) else { return false }
        return m["irn_checkpoint"] == "1" || m["format"] == TrainerCheckpoint.formatName
    }

    /// The data fingerprint recorded in a checkpoint's settings ("" when none).
    public static func dataFingerprint(of url: URL) -> String {
        SafetensorsFile.metadata(of: url)?["settings"].flatMap { try? ClusterSettings.parse($0) }?.dataFingerprint ?? ""
    }

    public static func read(_ url: URL) throws -> AgentCheckpoint {
        if TrainerCheckpoint.isTrainerCheckpoint(url) {
            let c = try TrainerCheckpoint.read(from: url)
            return try model(tensors: c.tensors, settings: c.settings, itemIdsName: AgentCheckpoint.itemIdsTensor, epoch: c.state.epochsCompleted,
                             note: "exported from the irn train checkpoint \(url.lastPathComponent) after \(c.state.epochsCompleted) epoch(s)", source: url)
        }
        let f = try CheckpointStore.load(url)
        guard let text = f.metadata["settings"] else { throw IRNError("checkpoint carries no server settings", file: url.path) }
        let settings = try ClusterSettings.parse(text)
        return try model(tensors: f.tensors, settings: settings, itemIdsName: "server.item_ids", epoch: 0,
                         note: "exported from the cluster checkpoint \(url.lastPathComponent) at step \(f.metadata["version"] ?? "?") (train split \(settings.trainSplit.rawValue))",
                         source: url)
    }

    private static func model(tensors t: [String: SafetensorsTensor], settings: ClusterSettings, itemIdsName: String, epoch: Int,
                              note: String, source: URL) throws -> AgentCheckpoint {
        guard let config = settings.agent else {
            throw IRNError("checkpoint of --algo \(settings.algo) holds no agent model (a self-test checkpoint?)", file: source.path)
        }
        var named: [String: (shape: [Int], values: [Float])] = [:]
        // Under --average-weights the model is the average (what the server evaluates and writes).
        let prefix = config.weightAverage != nil && t["average." + config.shape.parameterGroups[0].name] != nil ? "average." : ""
        for g in config.shape.parameterGroups {
            guard let x = t[prefix + g.name] else { throw IRNError("checkpoint lacks tensor \(prefix + g.name)", file: source.path) }
            named[g.name] = (x.shape, try x.floats())
        }
        let parameters: NetworkParameters
        do { parameters = try NetworkParameters(shape: config.shape, named: named) } catch {
            throw IRNError("checkpoint tensors do not match its agent config: \(error)", file: source.path)
        }
        let ids = try t[itemIdsName].map { try $0.int64s() }
        return AgentCheckpoint(config: config, parameters: parameters, epoch: epoch, note: note,
                               dataFingerprint: settings.dataFingerprint, itemIds: ids?.count == config.items ? ids : nil)
    }
}
