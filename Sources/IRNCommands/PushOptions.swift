import ArgumentParser
import IRNActor
import IRNAgents

/// How actors compress their pushes (irn-server sends it to every actor in the settings; also
/// `irn bench server`). The defaults send each window's gradient exactly: only they are known
/// to keep `irn train`'s accuracy (docs/capacity.md and docs/results/cluster/ show what the
/// others cost and save), and only they keep `--sync` bit-identical to `irn train`.
struct PushOptions: ParsableArguments {
    @Option(help: "Windows whose gradients an actor sums into one push (fewer, larger updates; bytes per environment event fall by about this factor).")
    var pushWindows = 1
    @Option(help: "Values of a push: fp32 (exact) or bf16 (half the bytes; the rounding error stays at the actor and joins the next push).")
    var pushPrecision: PushPrecision = .fp32

    func validate() throws {
        guard (1...1024).contains(pushWindows) else { throw ValidationError("--push-windows must be in 1...1024") }
    }

    func apply(to settings: inout ClusterSettings) {
        settings.pushWindows = pushWindows
        settings.pushPrecision = pushPrecision.rawValue
    }
}

extension PushPrecision: ExpressibleByArgument {}
