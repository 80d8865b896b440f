import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport

/// The server's final model: the network's tensors under their checkpoint names and the
/// metadata of the project's agent model files (format "irn-agent" version 1: algorithm,
/// items, hidden, config as JSON, epoch, valid_metric, valid_value, note), so `irn eval
/// --model` and single-process tools read it like a model of `irn train`.
public enum ClusterModelFile {
    public static func write(parameters: NetworkParameters, settings: ClusterSettings, step: UInt64, epochs: Int = 0, to url: URL) throws {
        guard let config = settings.agent else { throw IRNError("no agent settings to write a model for") }
        var f = SafetensorsFile()
        for part in parameters.namedParts { f[part.name] = SafetensorsTensor(floats: part.values, shape: part.shape) }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        f.metadata = [
            "format": "irn-agent", "format_version": "1",
            "algorithm": config.algorithm.rawValue, "items": "\(config.items)", "hidden": "\(config.hidden)",
            "config": String(decoding: try e.encode(config), as: UTF8.self), "epoch": "\(epochs)",
            "valid_metric": "", "valid_value": "",
            "note": "irn-server cluster model after \(step) gradient applications (train split \(settings.trainSplit))",
        ]
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try f.write(to: url)
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
