import ArgumentParser
import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport

/// `irn bench step`: one full training iteration of an agent at the paper's scale on
/// synthetic windows (target sampling, imagined branches, forward, backward, Adam).
struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time one training iteration (compute gradient + Adam) on synthetic inputs.",
        discussion: """
        Prints iterations/s, environment events/s (iterations x window x batch / s), the \
        achieved GFLOP/s of the iteration's matrix products (2 FLOPs per multiply-add, \
        counted from the products actually issued; element-wise work is not counted), the \
        sgemm GFLOP/s this machine reaches replaying exactly those product shapes, and the \
        peak resident memory. Build with `swift build -c release` first.
        """
    )

    @Option(help: "Number of items N.")
    var items: Int = 9167
    @OptionGroup var agent: AgentOptions
    @Option(help: "Timed iterations.")
    var iterations: Int = 20
    @Option(help: "Untimed warm-up iterations.")
    var warmup: Int = 3
    @Option(name: .customLong("purchase-share"), help: "Share of synthetic targets that are purchases.")
    var purchaseShare: Double = 0.1
    @Option(name: .customLong("mean-session"), help: "Mean synthetic session length (a new session starts with probability 1/length).")
    var meanSession: Double = 9
    @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice).")
    var threads: Int?
    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        if let threads { BLAS.setThreads(threads) }
        var config = try agent.config(items: items)
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
        if config.head.hasNext {
            // Worst case for the candidate features: about L random followers for every item.
            try config.head.attach(BenchStepWindows.transitions(config: config, seed: config.seed &+ 29), split: "synthetic")
        }
        let windows = BenchStepWindows.make(config: config, count: 8, purchaseShare: purchaseShare,
                                            meanSession: meanSession, seed: config.seed &+ 17)
        let bench = try Agent(config: config)
        var gradient = NetworkGradient(shape: config.shape)
        for i in 0..<warmup {
            _ = try bench.computeGradient(windows[i % windows.count], into: &gradient)
            bench.apply(gradient)
        }
        // Each timed iteration is followed by a replay of exactly the products it issued, so
        // both figures see the same machine load (the machine may be shared).
        let recorder = GemmRecorder()
        bench.worker.recorder = recorder
        let replayer = GemmReplayer()
        var stats = IterationStats()
        var seconds = 0.0, gemmSeconds = 0.0, flops = 0.0
        for i in 0..<iterations {
            let w = windows[(warmup + i) % windows.count]
            recorder.clear()
            let t0 = monotonicSeconds()
            stats.accumulate(try bench.computeGradient(w, into: &gradient))
            bench.apply(gradient)
            seconds += monotonicSeconds() - t0
            flops += recorder.totalFlops
            gemmSeconds += replayer.time(recorder.shapes)
        }
        bench.worker.recorder = nil
        let sgemm = flops / gemmSeconds / 1e9
        let itPerS = Double(iterations) / seconds
        let eventsPerS = itPerS * Double(config.window * config.slots)
        let gflops = flops / seconds / 1e9
        let rss = peakResidentMB()
        // Fingerprint of the trained parameters: equal across runs with the same flags.
        var fingerprint: UInt64 = 0
        for t in bench.parameters.tensors {
            t.withUnsafeBytes { fingerprint ^= StableHash.fnv1a(bytes: $0) &* 0x9E37_79B9_7F4A_7C15 &+ fingerprint }
        }
        let fingerprintHex = String(fingerprint, radix: 16)
        if json {
            let obj: [String: Any] = [
                "algo": config.algorithm.rawValue, "head": config.head.description, "items": items, "hidden": config.hidden, "batch": config.slots,
                "window": config.window, "breadth": config.breadth, "depth": config.depth,
                "iterations_per_s": itPerS, "events_per_s": eventsPerS, "gflops": gflops,
                "sgemm_gflops": sgemm, "peak_rss_mb": rss,
                "gflop_per_iteration": flops / Double(iterations) / 1e9,
                "blas_core": BLAS.coreName, "blas_threads": BLAS.threads, "parameters_fnv1a": fingerprintHex,
            ]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("algo \(config.algorithm.rawValue), head \(config.head): N=\(items) H=\(config.hidden) M=\(config.slots) k=\(config.window) breadth=\(config.breadth) depth=\(config.depth)")
            print("OpenBLAS core \(BLAS.coreName), \(BLAS.threads) thread(s)")
            print(String(format: "iterations/s      %.2f", itPerS))
            print(String(format: "events/s          %.0f", eventsPerS))
            print(String(format: "GFLOP/iteration   %.3f (matrix products)", flops / Double(iterations) / 1e9))
            print(String(format: "achieved GFLOP/s  %.1f", gflops))
            print(String(format: "sgemm GFLOP/s     %.1f (same shapes, replayed)", sgemm))
            print(String(format: "ratio             %.2f", gflops / sgemm))
            print(String(format: "peak RSS          %.0f MB", rss))
            print("parameters fnv1a  \(fingerprintHex)")
            let n = Double(iterations)
            print(String(format: "mean losses: policy %.4f value %.4f reconstruction %.4f; mean A %.3f, |A| %.3f; purchase share %.3f",
                         stats.policyLoss / n, stats.valueLoss / n, stats.reconstructionLoss / n,
                         stats.meanAdvantage / n, stats.meanAbsAdvantage / n, stats.purchaseShare))
        }
    }
}

/// Synthetic inputs and the sgemm reference for `irn bench step`.
enum BenchStepWindows {
    /// Windows with uniformly random items, purchases at the given share and sessions of
    /// geometric length (resets), lookahead filled as in a real session stream.
    /// A transition table from random sessions of 10 items, N x L transitions in all, so
    /// nearly every item keeps about L followers (the head's most expensive case).
    static func transitions(config: AgentConfig, seed: UInt64) -> TransitionTable {
        var rng = RandomSource(seed: seed)
        let N = config.items, L = config.head.followersPerItem
        let events = N * L + N * L / 9
        let items = (0..<events).map { _ in Int32(rng.nextInt(below: N)) }
        let offsets = Array(stride(from: 0, to: events, by: 10)) + [events]
        return TransitionTable(sessionOffsets: offsets, items: items, itemCount: N, followersPerItem: L,
                               cooccurrence: config.head.nextSessionSource == .cooccurrence)
    }

    static func make(config: AgentConfig, count: Int, purchaseShare: Double, meanSession: Double, seed: UInt64) -> [RolloutWindow] {
        var rng = RandomSource(seed: seed)
        let M = config.slots, k = config.window, L = config.nStep
        var out: [RolloutWindow] = []
        for _ in 0..<count {
            var w = RolloutWindow(steps: k, slots: M, lookahead: L)
            for t in 0..<k {
                for m in 0..<M {
                    let i = t * M + m
                    w.active[i] = true
                    w.resets[i] = rng.nextDouble() < 1 / meanSession
                    w.inputs[i] = Int32(rng.nextInt(below: config.items))
                    w.targets[i] = Int32(rng.nextInt(below: config.items))
                    w.targetIsPurchase[i] = rng.nextDouble() < purchaseShare
                    w.rewards[i] = config.reward(isPurchase: w.targetIsPurchase[i])
                }
            }
            for m in 0..<M {
                for j in 0..<L {
                    if rng.nextDouble() < 1 / meanSession { break }
                    w.lookaheadItems[m * L + j] = Int32(rng.nextInt(below: config.items))
                    w.lookaheadRewards[m * L + j] = config.reward(isPurchase: rng.nextDouble() < purchaseShare)
                }
            }
            out.append(w)
        }
        return out
    }
}

/// Replays recorded products (same shapes and transposes) on scratch matrices and times them.
final class GemmReplayer {
    private var a: [Float] = [], b: [Float] = [], c: [Float] = []

    /// Seconds for one pass over `shapes`.
    func time(_ shapes: [GemmShape]) -> Double {
        let needA = shapes.map { $0.m * $0.k }.max() ?? 0, needB = shapes.map { $0.k * $0.n }.max() ?? 0
        let needC = shapes.map { $0.m * $0.n }.max() ?? 0
        var rng = RandomSource(seed: 3)
        if a.count < needA { a = (0..<needA).map { _ in rng.nextFloat() - 0.5 } }
        if b.count < needB { b = (0..<needB).map { _ in rng.nextFloat() - 0.5 } }
        if c.count < needC { c = [Float](repeating: 0, count: needC) }
        let start = monotonicSeconds()
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    for s in shapes {
                        if s.n == 1 {
                            BLAS.gemv(trans: s.transA, rows: s.transA ? s.k : s.m, cols: s.transA ? s.m : s.k,
                                      a: pa.baseAddress!, lda: s.transA ? s.m : s.k, x: pb.baseAddress!, beta: 0, y: pc.baseAddress!)
                        } else {
                            BLAS.gemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                                      a: pa.baseAddress!, lda: s.transA ? s.m : s.k, b: pb.baseAddress!, ldb: s.transB ? s.k : s.n,
                                      beta: 0, c: pc.baseAddress!, ldc: s.n)
                        }
                    }
                }
            }
        }
        return monotonicSeconds() - start
    }
}
