import IRNNumerics
import IRNSupport

/// One agent in one process: parameters, target network, Adam, the gradient worker and the
/// target schedule. `iterate` = compute a gradient, apply it, refresh the target when due.
/// The cluster splits the same pieces: actors call `GradientWorker.computeGradient`, the
/// server `apply` and `refreshTarget`.
public final class Agent {
    public let config: AgentConfig
    public private(set) var parameters: NetworkParameters
    /// The frozen copy pi_hat / theta^-.
    public private(set) var target: NetworkParameters
    public private(set) var optimizer: Adam
    public let worker: GradientWorker
    public private(set) var schedule: TargetSchedule
    private var gradient: NetworkGradient

    public init(config: AgentConfig) throws {
        try config.validate()
        self.config = config
        parameters = config.initialParameters()
        target = parameters
        optimizer = Adam(shape: config.shape, config: config.adam)
        worker = try GradientWorker(config: config)
        schedule = TargetSchedule(every: config.targetEvery, unit: config.targetUnit)
        gradient = NetworkGradient(shape: config.shape)
    }

    /// dL/dtheta for the window at the current parameters (advances the slots' states).
    public func computeGradient(_ window: RolloutWindow, into g: inout NetworkGradient) throws -> IterationStats {
        try worker.computeGradient(window, parameters: parameters, target: target, into: &g)
    }

    /// One Adam step.
    public func apply(_ g: NetworkGradient) {
        optimizer.apply(g, to: &parameters)
    }

    /// theta^- <- theta.
    public func refreshTarget() { target = parameters }

    /// Replaces the parameters (e.g. a loaded checkpoint); the target follows.
    public func load(_ p: NetworkParameters) throws {
        guard p.shape == config.shape else { throw IRNError("model has \(p.shape.items) items x \(p.shape.hidden) units, config \(config.items) x \(config.hidden)") }
        parameters = p
        target = p
    }

    public func resetState() { worker.resetState() }

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
