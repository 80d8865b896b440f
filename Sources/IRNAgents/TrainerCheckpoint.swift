import Foundation
import IRNData
import IRNNumerics
import IRNSupport

/// `irn train`'s checkpoint, written after every epoch (an epoch boundary is the one point
/// where the trainer's whole state is small: the feeder and the recurrent states start over
/// at every epoch, so only the model state, the target schedule, the imagination sampler's
/// random stream, the best model so far and the log are needed to continue bit for bit).
/// A safetensors file: the `ModelState` tensors (weights, `target.*`, `adam.*`, `version`),
/// the best model so far as `best.*`, `item_ids`, `trainer.sampler_rng`; metadata `format`
/// (`irn-train-checkpoint`), `settings` (a `ClusterSettings` JSON: the agent config, the
/// training split, density and the data fingerprint, as the server's checkpoints) and
/// `trainer` (the `State` JSON below).
public struct TrainerCheckpoint {
    public static let formatName = "irn-train-checkpoint"

    /// The trainer's own counters and the log so far.
    public struct State: Codable, Sendable {
        public var epochsCompleted: Int
        public var iteration: Int
        public var sinceBest: Int
        public var scheduleCount: Int
        public var scheduleRefreshes: Int
        public var bestEpoch: Int?
        public var bestValue: Double?
        public var options: TrainerOptions
        public var log: TrainingLog
    }

    public var settings: ClusterSettings
    public var state: State
    public var tensors: [String: SafetensorsTensor]

    public var config: AgentConfig {
        get throws {
            guard let c = settings.agent else { throw IRNError("training checkpoint holds no agent config") }
            return c
        }
    }

    public func write(to url: URL) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let f = SafetensorsFile(tensors: tensors, metadata: [
            "format": Self.formatName, "settings": settings.json(),
            "trainer": String(decoding: try e.encode(state), as: UTF8.self),
        ])
        try f.write(to: url)
    }

    /// Whether `url` is a training checkpoint (reads the header only).
    public static func isTrainerCheckpoint(_ url: URL) -> Bool {
        SafetensorsFile.metadata(of: url)?["format"] == formatName
    }

    public static func read(from url: URL) throws -> TrainerCheckpoint {
        let f = try SafetensorsFile.read(from: url)
        guard f.metadata["format"] == formatName else {
            throw IRNError("not an irn train checkpoint (metadata format \(f.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(formatName)')", file: url.path)
        }
        guard let settingsText = f.metadata["settings"], let stateText = f.metadata["trainer"] else {
            throw IRNError("training checkpoint lacks its settings or trainer metadata", file: url.path)
        }
        let settings: ClusterSettings
        let state: State
        do {
            settings = try ClusterSettings.parse(settingsText)
            state = try JSONDecoder().decode(State.self, from: Data(stateText.utf8))
        } catch {
            throw IRNError("training checkpoint metadata is unreadable: \(error)", file: url.path)
        }
        return TrainerCheckpoint(settings: settings, state: state, tensors: f.tensors)
    }

    /// The best model so far (the `best.*` tensors), or nil when none was validated yet.
    func bestParameters(_ config: AgentConfig) throws -> NetworkParameters? {
        var named: [String: (shape: [Int], values: [Float])] = [:]
        for g in config.shape.parameterGroups {
            guard let t = tensors["best." + g.name] else { return nil }
            named[g.name] = (t.shape, try t.floats())
        }
        return try NetworkParameters(shape: config.shape, named: named)
    }
}

extension Trainer {
    /// The checkpoint of the state after `epochsCompleted` epochs.
    public func checkpoint() -> TrainerCheckpoint {
        var settings = ClusterSettings(algo: config.algorithm.rawValue, agent: config)
        settings.trainSplit = options.trainSplit
        settings.density = options.density
        settings.items = dataset.itemCount
        settings.shardCount = dataset.shardCount
        settings.dataFingerprint = dataFingerprint
        settings.dataPath = dataPath
        var t = agent.model.checkpointTensors()
        if let b = best {
            for part in b.parameters.namedParts { t["best." + part.name] = SafetensorsTensor(floats: part.values, shape: part.shape) }
        }
        t[AgentCheckpoint.itemIdsTensor] = SafetensorsTensor(int64s: dataset.itemIds, shape: [dataset.itemCount])
        if let rng = agent.samplerState { t["trainer.sampler_rng"] = SafetensorsTensor(int64s: rng.map { Int64(bitPattern: $0) }, shape: [4]) }
        let state = TrainerCheckpoint.State(epochsCompleted: epochsCompleted, iteration: iteration, sinceBest: sinceBest,
                                            scheduleCount: agent.schedule.count, scheduleRefreshes: agent.schedule.refreshes,
                                            bestEpoch: best?.epoch, bestValue: best?.validValue, options: options, log: log)
        return TrainerCheckpoint(settings: settings, state: state, tensors: t)
    }

    /// Continues from `c` (written by `checkpoint()` of a run with the same data, config,
    /// training split and density): the next epoch is `c`'s epochs completed + 1. `source`
    /// names the checkpoint in errors. The best model so far is written to `modelURL` again,
    /// so the output holds it even when the resumed run writes elsewhere.
    public func resume(from c: TrainerCheckpoint, source: String) throws {
        try c.settings.checkData(fingerprint: dataFingerprint, path: dataPath, "checkpoint \(source) belongs to other data")
        func fail(_ m: String) -> IRNError { IRNError(m, file: source) }
        guard try c.config == config else { throw fail("the checkpoint's agent config differs from this run's") }
        guard c.settings.trainSplit == options.trainSplit, c.settings.density == options.density,
              c.state.options.validMetric == options.validMetric, c.state.options.keepLast == options.keepLast else {
            throw fail("the checkpoint was trained on \(c.settings.trainSplit.rawValue) with density \(c.settings.density), \(c.state.options.validMetric), keep \(c.state.options.keepLast ? "last" : "best"); this run asks for \(options.trainSplit.rawValue), \(options.density), \(options.validMetric), keep \(options.keepLast ? "last" : "best")")
        }
        let schedule = TargetSchedule(every: config.targetEvery, unit: config.targetUnit,
                                      count: c.state.scheduleCount, refreshes: c.state.scheduleRefreshes)
        let rng = c.tensors["trainer.sampler_rng"].flatMap { try? $0.int64s() }.map { $0.map { UInt64(bitPattern: $0) } }
        do {
            try agent.restore(model: c.tensors.filter { !$0.key.hasPrefix("best.") && !$0.key.hasPrefix("trainer.") && $0.key != AgentCheckpoint.itemIdsTensor },
                              schedule: schedule, samplerState: rng)
        } catch let e as IRNError {
            throw fail(e.message)
        }
        var restoredBest: AgentCheckpoint?
        if let p = try c.bestParameters(config), let epoch = c.state.bestEpoch {
            restoredBest = AgentCheckpoint(config: config, parameters: p, epoch: epoch, validMetric: options.validMetric.description,
                                           validValue: c.state.bestValue, note: bestNote,
                                           dataFingerprint: dataFingerprint, itemIds: dataset.itemIds)
        }
        restoreCounters(epochsCompleted: c.state.epochsCompleted, iteration: c.state.iteration, sinceBest: c.state.sinceBest,
                        best: restoredBest, log: c.state.log)
        if let b = restoredBest, let url = modelURL { try b.write(to: url) }
    }
}
