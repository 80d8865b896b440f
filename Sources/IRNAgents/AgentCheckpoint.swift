import Foundation
import IRNData
import IRNNumerics
import IRNSupport

/// A trained agent as one safetensors file: the network's named tensors (ParameterGroup
/// names, F32) and string metadata saying what the file is, so NumPy / PyTorch users can
/// open it and `irn eval` can recognise it. Metadata keys:
/// `format` ("irn-agent"), `format_version` ("1"), `algorithm`, `items`, `hidden`,
/// `config` (the AgentConfig as JSON), `epoch` (epochs trained; "0" before the first
/// epoch ended), `valid_metric` and `valid_value` (the early-stopping figure, "" if none),
/// `note` (free text, e.g. why the file was written), `data_fingerprint` (the
/// `DataFingerprint` of the data set it was trained on; absent in older files). The tensor
/// `item_ids` (I64 [items]) maps each item index to its original id, so the file alone can
/// turn scores into recommendations. Nothing time-dependent is stored, so the same run gives
/// the same bytes.
public struct AgentCheckpoint: Sendable {
    public static let formatName = "irn-agent"
    public static let formatVersion = 1

    public var config: AgentConfig
    public var parameters: NetworkParameters
    public var epoch: Int
    public var validMetric: String
    public var validValue: Double?
    public var note: String
    /// `DataFingerprint` of the training data ("" when unknown: files from before it existed).
    public var dataFingerprint: String
    /// Original item id of each item index (nil when unknown).
    public var itemIds: [Int64]?

    /// The name of the item map tensor.
    public static let itemIdsTensor = "item_ids"

    public init(config: AgentConfig, parameters: NetworkParameters, epoch: Int, validMetric: String = "",
                validValue: Double? = nil, note: String = "", dataFingerprint: String = "", itemIds: [Int64]? = nil) {
        self.dataFingerprint = dataFingerprint
        self.itemIds = itemIds
        self.config = config
        self.parameters = parameters
        self.epoch = epoch
        self.validMetric = validMetric
        self.validValue = validValue
        self.note = note
    }

    /// The safetensors content (tensors in name order, metadata sorted: deterministic bytes).
    public func file() throws -> SafetensorsFile {
        guard parameters.shape == config.shape else {
            throw IRNError("parameters are \(parameters.shape.items) items x \(parameters.shape.hidden) units, config says \(config.items) x \(config.hidden)")
        }
        if let ids = itemIds, ids.count != config.items {
            throw IRNError("the item map has \(ids.count) ids for a model of \(config.items) items")
        }
        var f = SafetensorsFile()
        for part in parameters.namedParts { f[part.name] = SafetensorsTensor(floats: part.values, shape: part.shape) }
        if let ids = itemIds { f[Self.itemIdsTensor] = SafetensorsTensor(int64s: ids, shape: [ids.count]) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let configJSON = String(decoding: try encoder.encode(config), as: UTF8.self)
        f.metadata = [
            "format": Self.formatName, "format_version": "\(Self.formatVersion)",
            "algorithm": config.algorithm.rawValue, "items": "\(config.items)", "hidden": "\(config.hidden)",
            "config": configJSON, "epoch": "\(epoch)", "valid_metric": validMetric,
            "valid_value": validValue.map { "\($0)" } ?? "", "note": note,
        ]
        if !dataFingerprint.isEmpty { f.metadata["data_fingerprint"] = dataFingerprint }
        return f
    }

    /// Writes atomically (temporary sibling, fsync, rename): a crash or Ctrl-C mid-write
    /// leaves the previous file intact.
    public func write(to url: URL) throws {
        try file().write(to: url)
    }

    /// Reads and checks a model file: format and version, the config, and every tensor's
    /// presence and shape against the config's items x hidden. Errors name the file and
    /// say what mismatched.
    public static func read(from url: URL) throws -> AgentCheckpoint {
        let f = try SafetensorsFile.read(from: url)
        return try decode(f, source: url.path)
    }

    public static func decode(_ f: SafetensorsFile, source: String) throws -> AgentCheckpoint {
        func fail(_ msg: String) -> IRNError { IRNError(msg, file: source) }
        let m = f.metadata
        guard m["format"] == formatName else {
            throw fail("not an agent model: metadata format is \(m["format"].map { "'\($0)'" } ?? "missing"), expected '\(formatName)'")
        }
        guard let v = m["format_version"].flatMap(Int.init), v == formatVersion else {
            throw fail("agent model format version \(m["format_version"] ?? "missing") is not supported (this build reads \(formatVersion))")
        }
        guard let configText = m["config"], let config = decodeConfig(configText) else {
            throw fail("agent model metadata 'config' is missing or not a valid agent config")
        }
        do { try config.validate() } catch { throw fail("agent model config is invalid: \(error)") }
        // The plain-text summary must agree with the config (a hand-edited file is caught here).
        if m["items"] != "\(config.items)" || m["hidden"] != "\(config.hidden)" || m["algorithm"] != config.algorithm.rawValue {
            throw fail("agent model metadata says \(m["algorithm"] ?? "?") with \(m["items"] ?? "?") items x \(m["hidden"] ?? "?") units but its config says \(config.algorithm.rawValue) with \(config.items) x \(config.hidden)")
        }
        let shape = config.shape
        var problems: [String] = []
        var named: [String: (shape: [Int], values: [Float])] = [:]
        for g in shape.parameterGroups {
            let want = g.tensorShape(shape)
            guard let t = f[g.name] else { problems.append("tensor \(g.name) is missing (expected shape \(want))"); continue }
            guard t.dtype == .f32 else { problems.append("tensor \(g.name) holds \(t.dtype.rawValue), expected F32"); continue }
            guard t.shape == want else {
                problems.append("tensor \(g.name) has shape \(t.shape), expected \(want) for \(config.items) items x \(config.hidden) units")
                continue
            }
            named[g.name] = (t.shape, try t.floats())
        }
        var itemIds: [Int64]?
        if let t = f[itemIdsTensor] {
            if t.dtype == .i64, t.shape == [config.items] { itemIds = try t.int64s() } else {
                problems.append("tensor \(itemIdsTensor) is \(t.dtype.rawValue) \(t.shape), expected I64 [\(config.items)]")
            }
        }
        let extra = Set(f.tensors.keys).subtracting(shape.parameterGroups.map(\.name) + [itemIdsTensor])
        if !extra.isEmpty { problems.append("unexpected tensors \(extra.sorted().joined(separator: ", "))") }
        guard problems.isEmpty else { throw fail("agent model does not match its config: " + problems.joined(separator: "; ")) }
        let parameters = try NetworkParameters(shape: shape, named: named)
        guard let epoch = m["epoch"].flatMap(Int.init), epoch >= 0 else { throw fail("agent model metadata 'epoch' is missing or not a count") }
        let value = m["valid_value"].flatMap { $0.isEmpty ? nil : Double($0) }
        return AgentCheckpoint(config: config, parameters: parameters, epoch: epoch, validMetric: m["valid_metric"] ?? "",
                               validValue: value, note: m["note"] ?? "", dataFingerprint: m["data_fingerprint"] ?? "",
                               itemIds: itemIds)
    }

    /// Refuses to use this model on a data set with another fingerprint (`dataPath` is that
    /// set's directory, `modelPath` this file); a model without a fingerprint is not checked.
    public func checkData(fingerprint: String, dataPath: String, modelPath: String) throws {
        guard !dataFingerprint.isEmpty, dataFingerprint != fingerprint else { return }
        throw DataFingerprint.mismatch("model \(modelPath) was trained on other data than \(dataPath)",
                                       expected: dataFingerprint, expectedSource: modelPath,
                                       found: fingerprint, foundSource: dataPath)
    }

    /// Whether `url` is a safetensors file whose metadata names this format; reads only the
    /// header (a model of hundreds of MB is not loaded to find out).
    public static func isAgentModel(_ url: URL) -> Bool {
        SafetensorsFile.metadata(of: url)?["format"] == formatName
    }

    /// The stored config laid over this build's defaults for its algorithm and items, so a
    /// model written before a config field existed still loads (the field takes its default).
    static func decodeConfig(_ text: String) -> AgentConfig? {
        guard let stored = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let algorithm = (stored["algorithm"] as? String).flatMap(Algorithm.init(rawValue:)),
              let items = stored["items"] as? Int,
              let defaultsData = try? JSONEncoder().encode(AgentConfig(algorithm: algorithm, items: items)),
              let defaults = (try? JSONSerialization.jsonObject(with: defaultsData)) as? [String: Any],
              let merged = try? JSONSerialization.data(withJSONObject: defaults.merging(stored) { _, s in s })
        else { return nil }
        return try? JSONDecoder().decode(AgentConfig.self, from: merged)
    }
}
