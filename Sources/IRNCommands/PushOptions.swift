import ArgumentParser
import IRNActor
import IRNAgents
import IRNServer

/// How actors compress their pushes (irn-server sends it to every actor in the settings; also
/// `irn bench server`), and how the server's weight patches travel back. The defaults send
/// each window's gradient exactly: only they are known to keep `irn train`'s accuracy
/// (docs/capacity.md and docs/results/cluster/ show what the others cost and save), and only
/// they keep `--sync` bit-identical to `irn train`.
struct PushOptions: ParsableArguments {
    @Option(help: "Windows whose gradients an actor sums into one push (fewer, larger updates; bytes per environment event fall by about this factor).")
    var pushWindows = 1
    @Option(help: "Values of a push: fp32 (exact) or bf16 (half the bytes; the rounding error stays at the actor and joins the next push).")
    var pushPrecision: PushPrecision = .fp32
    @Option(help: "Share (0, 1] of each weight matrix's rows a push carries: the rows whose accumulated gradient has the largest norm; the others stay at the actor and join the next push (top-k sparsification with error feedback). The server's lazy Adam then moves, and its patches carry, only those rows. 1 (default): every row. Costs accuracy with Adam: a row sent once per k pushes moves once, so most rows learn about k times slower (on the dev split 0.02 gave purchase MRR@5 .079 instead of .279; docs/capacity.md).")
    var pushRows: Double = 1

    @Option(help: "Values of the server's weight patches: fp32 (exact) or bf16 (half the broadcast bytes; each patch carries the master's current rows rounded, so rounding never accumulates; full weights and the target network stay fp32).")
    var broadcastPrecision: PushPrecision = .fp32

    func validate() throws {
        guard (1...1024).contains(pushWindows) else { throw ValidationError("--push-windows must be in 1...1024") }
        guard pushRows > 0 && pushRows <= 1 else { throw ValidationError("--push-rows must be in (0, 1], got \(pushRows)") }
    }

    func apply(to settings: inout ClusterSettings) {
        settings.pushWindows = pushWindows
        settings.pushPrecision = pushPrecision.rawValue
        settings.pushRows = pushRows
    }

    func apply(to config: inout ServerConfig) {
        config.broadcastBF16 = broadcastPrecision == .bf16
    }
}

extension PushPrecision: ExpressibleByArgument {}
