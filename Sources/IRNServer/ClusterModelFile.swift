import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport

/// The server's final model, written as an `AgentCheckpoint` (format "irn-agent", the model
/// files of `irn train`), so `irn eval --model` reads it like any agent model.
public enum ClusterModelFile {
    /// `itemIds`: the data set's item map, stored in the model (nil: none).
    public static func write(parameters: NetworkParameters, settings: ClusterSettings, step: UInt64, epochs: Int = 0,
                             itemIds: [Int64]? = nil, note: String? = nil, validMetric: String = "", validValue: Double? = nil,
                             to url: URL) throws {
        guard let config = settings.agent else { throw IRNError("no agent settings to write a model for") }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AgentCheckpoint(config: config, parameters: parameters, epoch: epochs, validMetric: validMetric, validValue: validValue,
                            note: note ?? "irn-server cluster model after \(step) gradient applications (train split \(settings.trainSplit.rawValue))",
                            dataFingerprint: settings.dataFingerprint, itemIds: itemIds)
            .write(to: url)
    }
}
