import ArgumentParser
import IRNSupport
import IRNAgents
import IRNNumerics

extension Algorithm: ExpressibleByArgument {}
extension CriticSteps: ExpressibleByArgument {}
extension Baseline: ExpressibleByArgument {}
extension LossReduction: ExpressibleByArgument {}
extension TargetUnit: ExpressibleByArgument {}
extension ClickScope: ExpressibleByArgument {}
extension PolicyMean: ExpressibleByArgument {}

/// The agents' flags (defaults and readings: docs/algorithm.md), shared by every command that builds an agent.
struct AgentOptions: ParsableArguments {
    @Option(help: "Algorithm: a3c-f, a3c-p, irn-f, irn-p or prn-p.")
    var algo: Algorithm = .irnP
    @Option(help: "LSTM units H.")
    var hidden: Int = 256
    @Option(help: "Session-parallel slots M (the mini-batch).")
    var batch: Int = 128
    @Option(help: "Environment steps k per rollout window (truncated BPTT length).")
    var window: Int = 3
    @Option(name: .customLong("n-step"), help: "Steps of the -F returns (bootstrapped from the target network).")
    var nStep: Int = 3
    @Option(help: "Discount gamma.")
    var gamma: Float = 0.99
    @Option(name: .customLong("purchase-reward"), help: "Reward of a purchase event.")
    var purchaseReward: Float = 5
    @Option(name: .customLong("click-reward"), help: "Reward of a click event (default: 1 for -F, 0 for -P).")
    var clickReward: Float?
    @Option(name: .customLong("critic-steps"), help: "Train the value head at all steps (default) or only at purchase steps (literal reading).")
    var criticSteps: CriticSteps = .all
    @Option(help: "Advantage baseline: value (A = G - V) or none (A = G).")
    var baseline: Baseline = .value
    @Option(name: .customLong("advantage-floor"), help: "Clip the advantage from below at this value (default: no clipping, the paper's reading). 0 keeps logged actions from being pushed down (beyond the paper). On the real sample the -F variants learned only with both --advantage-floor 0 and --value-weight 0.05.")
    var advantageFloor: Float?
    @Option(name: .customLong("value-weight"), help: "Weight of the value term 0.5 (G - V)^2 in the loss (default 1, the paper's reading). The -F returns are large (about 16), and at weight 1 their value term dominates the shared LSTM.")
    var valueWeight: Float?
    @Option(help: "Entropy bonus weight.")
    var entropy: Float = 0
    @Option(name: .customLong("loss-reduction"), help: "mean: each loss term averaged over its own terms; sum: summed (literal reading).")
    var lossReduction: LossReduction = .mean
    @Option(name: .customLong("policy-mean-over"), help: "Under --loss-reduction mean, what the policy term (and the click term) is averaged over: terms (its own rows, the design's reading; default) or steps (the window's active steps, so a window with few purchase steps gives the policy little weight and a sparse --reward-density does not magnify each kept purchase; docs/algorithm.md#loss-combination).")
    var policyMeanOver: PolicyMean?
    @Option(name: .customLong("irn-weight"), help: "Weight w of the reconstruction loss (IRN and PRN-P).")
    var irnWeight: Float = 0.1
    @Option(name: .customLong("click-weight"), help: "Weight of a supervised next-click term, weight * -log pi(next item) at every step whose next event is a click, through the whole policy head (beyond the paper; default: none). Gives the repeat-next head's candidate gate a click-level signal that purchase rewards never give.")
    var clickWeight: Float?
    @Option(name: .customLong("click-scope"), help: "What the click term trains: all (the whole network) or gates (only the repeat heads' gates W_g, b_g, W_n, b_n; the base logits and the LSTM stay the policy's). Default: all.")
    var clickScope: ClickScope?
    @Option(name: .customLong("average-weights"), help: "Keep an exponential moving average of the weights with this decay per update (e.g. 0.99; beyond the paper; default: none) and validate, save and serve it instead of the last weights; training itself uses the live weights. Smooths the epoch-to-epoch swings a model kept at a fixed epoch count (--keep last) would otherwise inherit.")
    var averageWeights: Float?
    @Option(name: .customLong("forget-bias"), help: "Initial LSTM forget-gate bias.")
    var forgetBias: Float = 1
    @Option(name: .customLong("target-every"), help: "Refresh the target (imagination) network every this many target units.")
    var targetEvery: Int = 500
    @Option(name: .customLong("target-unit"), help: "What --target-every counts: steps (environment steps) or updates (gradient applications).")
    var targetUnit: TargetUnit = .steps
    @Option(help: "Imagined trajectories per state (breadth n).")
    var breadth: Int = 2
    @Option(help: "Items per imagined trajectory (depth m).")
    var depth: Int = 2
    @Option(help: "Adam learning rate.")
    var lr: Float = 1e-3
    @Option(name: .customLong("adam-beta1"), help: "Adam beta1.")
    var beta1: Float = 0.9
    @Option(name: .customLong("adam-beta2"), help: "Adam beta2.")
    var beta2: Float = 0.999
    @Option(name: .customLong("adam-eps"), help: "Adam epsilon.")
    var eps: Float = 1e-8
    @Flag(name: .customLong("dense-adam"), help: "Textbook Adam on row-sparse parameters (every row decays and moves) instead of lazy Adam (touched rows only).")
    var denseAdam = false
    @Option(help: "Random seed (initialisation, imagination sampling).")
    var seed: UInt64 = 1
    @OptionGroup var policyHead: HeadOptions

    func config(items: Int) throws -> AgentConfig {
        // An empty data set is a data problem, not a flag: AgentConfig would name `--items`,
        // which `irn train` and `irn-server` do not have.
        guard items > 0 else { throw IRNError("the prepared data set has no items (its train split is empty); prepare it again with other --days / --test-days") }
        var c = AgentConfig(algorithm: algo, items: items)
        c.hidden = hidden; c.slots = batch; c.window = window; c.nStep = nStep; c.gamma = gamma
        c.purchaseReward = purchaseReward; c.clickRewardOverride = clickReward
        c.criticSteps = criticSteps; c.baseline = baseline; c.advantageFloor = advantageFloor; c.valueWeight = valueWeight; c.entropy = entropy; c.lossReduction = lossReduction; c.policyMean = policyMeanOver
        c.irnWeight = irnWeight; c.clickWeight = clickWeight; c.clickScope = clickScope; c.weightAverage = averageWeights; c.forgetBias = forgetBias; c.targetEvery = targetEvery; c.targetUnit = targetUnit
        c.breadth = breadth; c.depth = depth; c.seed = seed
        c.adam = AdamConfig(learningRate: lr, beta1: beta1, beta2: beta2, epsilon: eps, lazySparse: !denseAdam)
        try policyHead.apply(to: &c)
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }
}
