import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport

/// The server's final model, written as an `AgentCheckpoint` (format "irn-agent", the model
/// files of `irn train`), so `irn eval --model` reads it like any agent model.
public enum ClusterModelFile {
    public static func write(parameters: NetworkParameters, settings: ClusterSettings, step: UInt64, epochs: Int = 0, to url: URL) throws {
        guard let config = settings.agent else { throw IRNError("no agent settings to write a model for") }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AgentCheckpoint(config: config, parameters: parameters, epoch: epochs,
                            note: "irn-server cluster model after \(step) gradient applications (train split \(settings.trainSplit))")
            .write(to: url)
    }

    /// Reads the parameters back (checking the agent config stored with them).
    public static func read(from url: URL) throws -> (config: AgentConfig, parameters: NetworkParameters) {
        let f = try SafetensorsFile.read(from: url)
        guard f.metadata["format"] == "irn-agent", let text = f.metadata["config"],
              let config = try? JSONDecoder().decode(AgentConfig.self, from: Data(text.utf8)) else {
            throw IRNError("not an agent model (format/config metadata)", file: url.path)
        }
        var named: [String: (shape: [Int], values: [Float])] = [:]
        for (k, t) in f.tensors { named[k] = (t.shape, try t.floats()) }
        return (config, try NetworkParameters(shape: config.shape, named: named))
    }
}
