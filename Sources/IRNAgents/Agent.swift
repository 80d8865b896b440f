import IRNNumerics
import IRNSupport

/// One agent in one process: the model state (parameters, target network, Adam), the
/// gradient worker and the target schedule. `iterate` = compute a gradient, apply it,
/// refresh the target when due. The cluster splits the same pieces: actors call `GradientWorker.computeGradient`, the
/// server `apply` and `refreshTarget`.
public final class Agent {
    public let config: AgentConfig
    public private(set) var model: ModelState
    public let worker: GradientWorker
    public private(set) var schedule: TargetSchedule
    private var gradient: NetworkGradient

    public init(config: AgentConfig) throws {
        try config.validate()
        self.config = config
        model = ModelState(config: config)
        worker = try GradientWorker(config: config)
        schedule = TargetSchedule(every: config.targetEvery, unit: config.targetUnit)
        gradient = NetworkGradient(shape: config.shape)
    }

    public var parameters: NetworkParameters { model.parameters }
    /// What validation, saved models and serving use: the weight average under
    /// `--average-weights`, else the parameters.
    public var evaluationParameters: NetworkParameters { model.evaluationParameters }
    /// The frozen copy pi_hat / theta^-.
    public var target: NetworkParameters { model.target }
    public var optimizer: Adam { model.optimizer }

    /// dL/dtheta for the window at the current parameters (advances the slots' states).
    public func computeGradient(_ window: RolloutWindow, into g: inout NetworkGradient) throws -> IterationStats {
        try worker.computeGradient(window, parameters: parameters, target: target, into: &g)
    }

    /// One Adam step.
    public func apply(_ g: NetworkGradient) { model.apply(g) }

    /// theta^- <- theta.
    public func refreshTarget() { model.refreshTarget() }

    /// Replaces the parameters (e.g. a loaded checkpoint); the target follows.
    public func load(_ p: NetworkParameters) throws { try model.load(p) }

    public func resetState() { worker.resetState() }

    /// What a training checkpoint must carry besides the model state for the next epoch to
    /// run bit for bit as without the stop: the target schedule's position and the
    /// imagination sampler's random stream (nil for agents without a target network).
    public var samplerState: [UInt64]? { worker.trajectories?.rng.state }

    /// Restores a training checkpoint (at an epoch boundary: the recurrent states are reset at
    /// every epoch start anyway). Throws, changing nothing, on a mismatch.
    public func restore(model tensors: [String: SafetensorsTensor], schedule: TargetSchedule, samplerState: [UInt64]?) throws {
        var m = ModelState(config: config)
        try m.restore(from: tensors)
        var rng: RandomSource?
        if worker.trajectories != nil {
            guard let st = samplerState, let r = RandomSource(state: st) else {
                throw IRNError("checkpoint lacks the imagination sampler's state (trainer.sampler_rng)")
            }
            rng = r
        }
        guard schedule.every == self.schedule.every, schedule.unit == self.schedule.unit else {
            throw IRNError("checkpoint's target schedule (every \(schedule.every) \(schedule.unit)) is not the config's")
        }
        model = m
        self.schedule = schedule
        if let r = rng { worker.trajectories!.rng = r }
    }

    /// A full iteration: gradient, Adam, and the target refresh when the schedule says so
    /// (the window's steps count as environment steps; one update per call).
    @discardableResult
    public func iterate(_ window: RolloutWindow) throws -> IterationStats {
        let s = try worker.computeGradient(window, parameters: parameters, target: target, into: &gradient)
        apply(gradient)
        if schedule.record(steps: window.steps, updates: 1) { refreshTarget() }
        return s
    }
}
