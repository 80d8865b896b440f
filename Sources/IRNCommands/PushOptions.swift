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
    @Option(help: "Share (0, 1] of each weight matrix's rows a push carries: the rows whose accumulated gradient has the largest norm; the others stay at the actor and join the next push (top-k sparsification with error feedback). The server's lazy Adam then moves, and its patches carry, only those rows. 1 (default): every row. Budget the item matrices only and give the others their own share (--push-rows-scope items --push-rows-other 0.1): with 0.02 and bf16 both ways that is 24x fewer bytes per event at paper scale, and on the dev split's test (5 seeds) purchase MRR@5 .261 with 4 actors and .238 with 8, with --push-rows-warmup 200 .271 and .252, against .275 for irn train and .293 / .287 uncompressed; budgeting every matrix at 0.02 gave .219 (docs/capacity.md).")
    var pushRows: Double = 1
    @Option(help: "Under --push-rows < 1, what the server's Adam does with a row whose gradient waited k pushes at the actor: moments (default) takes k steps of g / k in closed form, so it moves about as far as if sent every time, and feeds Adam's second moment the row's mean squared gradient over the k pushes (the actor sends one ratio per row), so gradients that cancel in the sum do not shrink it and enlarge the step up to sqrt(k) times; steps does the same with the mean's square; once takes one ordinary step, so most rows learn about k times slower (dev split, valid, docs/capacity.md: purchase MRR@5 .115 once, .173 steps by norm; with the scaled rank, seeds 1, 4, 5: .195 steps, .203 moments, .221 uncompressed).")
    var deferredRows: DeferredRows = .moments
    @Option(help: "Which weight matrices --push-rows budgets: all (default) or items (only those with one row per item, the LSTM input weights and the policy; the others, whose size does not grow with the catalogue, travel whole).")
    var pushRowsScope: PushRowsScope = .all
    @Option(help: "Under --push-rows-scope items, the share (0, 1] of rows the other matrices (the LSTM's recurrent weights, the heads' small matrices) carry per push, chosen as --push-rows chooses them. 1 (default): they travel whole.")
    var pushRowsOther: Double = 1
    @Option(help: "How --push-rows picks a matrix's rows: scaled (default: largest norm of the waiting gradient relative to a running mean of the row's squared gradient norm per push; Adam moves a row about equally per step whatever its scale, so rare items' rows are not starved) or norm (largest L2 norm, as Deep Gradient Compression; on the dev split's valid set purchase MRR@5 .173 against .197 for scaled, docs/capacity.md).")
    var pushRowsRank: PushAccumulator.RowRank = .scaled
    @Option(help: "Server updates over which the --push-rows / --push-rows-other budget tightens from whole pushes (share 1 at update 0, share^(u / N) at update u, the budget from update N on), as Deep Gradient Compression's warm-up: the first updates, when every actor starts from the same weights, carry every row. 0 (default): the budget from the first push. With the budget above, 200 (picked on valid over 0 and 800) brings the dev split's test purchase MRR@5 from .261 to .271 with 4 actors (irn train .275) and from .238 to .252 with 8. irn bench server measures the budget after the warm-up.")
    var pushRowsWarmup = 0

    @Option(help: "Values of the server's weight patches: fp32 (exact) or bf16 (half the broadcast bytes; each patch carries the master's current rows rounded, so rounding never accumulates; full weights and the target network stay fp32).")
    var broadcastPrecision: PushPrecision = .fp32

    func validate() throws {
        guard (1...1024).contains(pushWindows) else { throw ValidationError("--push-windows must be in 1...1024") }
        guard pushRows > 0 && pushRows <= 1 else { throw ValidationError("--push-rows must be in (0, 1], got \(pushRows)") }
        guard pushRowsOther > 0 && pushRowsOther <= 1 else { throw ValidationError("--push-rows-other must be in (0, 1], got \(pushRowsOther)") }
        guard pushRowsWarmup >= 0 else { throw ValidationError("--push-rows-warmup must be 0 or more updates, got \(pushRowsWarmup)") }
        if pushRowsWarmup > 0 && pushRows == 1 && pushRowsOther == 1 {
            throw ValidationError("--push-rows-warmup needs a row budget to tighten to (--push-rows or --push-rows-other below 1)")
        }
        if pushRowsOther < 1 && pushRowsScope != .items {
            throw ValidationError("--push-rows-other applies under --push-rows-scope items only")
        }
    }

    func apply(to settings: inout ClusterSettings) {
        settings.pushWindows = pushWindows
        settings.pushPrecision = pushPrecision.rawValue
        settings.pushRows = pushRows
        settings.deferredRows = deferredRows.rawValue
        settings.pushRowsScope = pushRowsScope.rawValue
        settings.pushRowsOther = pushRowsOther
        settings.pushRowsRank = pushRowsRank.rawValue
        settings.pushRowsWarmup = pushRowsWarmup
    }

    func apply(to config: inout ServerConfig) {
        config.broadcastBF16 = broadcastPrecision == .bf16
    }
}

extension PushPrecision: ExpressibleByArgument {}
extension PushAccumulator.RowRank: ExpressibleByArgument {}
extension DeferredRows: ExpressibleByArgument {}
extension PushRowsScope: ExpressibleByArgument {}
