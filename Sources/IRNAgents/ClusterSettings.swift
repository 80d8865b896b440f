import Foundation
import IRNData
import IRNSupport

/// What the server tells every actor in its Welcome (as JSON), so that all agree on the
/// algorithm, the network and the data: the full agent configuration (head included), the
/// training split and its shape, the reward density.
public struct ClusterSettings: Codable, Sendable, Equatable {
    /// "visit-count" (`irn-server --self-test`) or an `Algorithm` raw value.
    public var algo: String
    public var agent: AgentConfig?
    /// Split the actors train on.
    public var trainSplit: TrainSplit = .train
    /// Reward density d, drawn with the agent's `rewardSeed`.
    public var density: Double = 1
    /// Item and shard counts of the server's data set: actors check theirs match.
    public var items: Int = 0
    public var shardCount: Int = 0
    /// Sessions of the training split per shard (the lease totals).
    public var shardSizes: [Int] = []
    /// `DataFingerprint` of the server's data set and its path there (for messages): actors,
    /// checkpoints and models compare fingerprints, since equal counts do not mean equal
    /// items. Empty from servers (and checkpoints) written before it existed: not checked.
    public var dataFingerprint: String = ""
    public var dataPath: String = ""
    /// Windows whose gradients an actor sums into one push (`--push-windows`): fewer, larger
    /// updates and fewer bytes per environment event.
    public var pushWindows: Int = 1
    /// How pushes carry values: "fp32" or "bf16" (`--push-precision`, with error feedback).
    public var pushPrecision: String = "fp32"
    /// Share of each matrix's rows a push carries (`--push-rows`; 1: all): the rows of largest
    /// norm, the rest stays at the actor for the next push (top-k with error feedback).
    public var pushRows: Double = 1
    /// Under a row budget, a row that waited k pushes at the actor takes k Adam steps at the
    /// server with the second moment of its real pushes ("moments", `--deferred-rows`), k steps
    /// with the mean's square ("steps") or one ("once", the first measurement: it learns about
    /// k times slower). Missing from older servers' settings: "once".
    public var deferredRows: String = "moments"
    /// Which matrices the row budget applies to: "all" (every matrix) or "items" (those with a
    /// row per item, W_x and W_p; the others travel whole). `--push-rows-scope`.
    public var pushRowsScope: String = "all"
    /// Under `--push-rows-scope items`, the share of rows the other matrices' pushes carry
    /// (`--push-rows-other`; 1: whole).
    public var pushRowsOther: Double = 1
    /// How the row budget picks rows: "scaled" (largest norm relative to the row's usual
    /// gradient size) or "norm" (largest L2 norm). `--push-rows-rank`. Missing from older
    /// servers' settings: "norm".
    public var pushRowsRank: String = "scaled"
    /// Server updates over which the row budget tightens from whole pushes to `pushRows` and
    /// `pushRowsOther` (`--push-rows-warmup`; 0: the budget from the first push), as Deep
    /// Gradient Compression's warm-up: early updates, when all actors start on the same
    /// weights, carry every row.
    public var pushRowsWarmup: Int = 0

    /// The row shares a push built on weights of server version `version` carries: geometric
    /// from 1 at version 0 to the budget at `pushRowsWarmup` (share^(version / warm-up)), so
    /// the share falls by the same factor per update; the budget itself after the warm-up.
    public func pushRowShares(atVersion version: UInt64) -> (rows: Double, other: Double) {
        let rows = pushRows > 0 && pushRows < 1 ? pushRows : 1
        let other = pushRowsOther > 0 && pushRowsOther < 1 ? pushRowsOther : 1
        guard pushRowsWarmup > 0, version < UInt64(pushRowsWarmup) else { return (rows, other) }
        let progress = Double(version) / Double(pushRowsWarmup)
        return (pow(rows, progress), pow(other, progress))
    }

    public init(algo: String, agent: AgentConfig?) {
        self.algo = algo
        self.agent = agent
    }

    private enum CodingKeys: String, CodingKey {
        case algo, agent, trainSplit = "train_split", density, items, shardCount = "shard_count", shardSizes = "shard_sizes"
        case dataFingerprint = "data_fingerprint", dataPath = "data_path"
        case pushWindows = "push_windows", pushPrecision = "push_precision", pushRows = "push_rows", deferredRows = "deferred_rows", pushRowsScope = "push_rows_scope", pushRowsRank = "push_rows_rank", pushRowsOther = "push_rows_other"
        case pushRowsWarmup = "push_rows_warmup"
    }

    /// Keys other than `algo` may be missing (the self-test sends only algo and shard sizes).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        algo = try c.decode(String.self, forKey: .algo)
        agent = try c.decodeIfPresent(AgentConfig.self, forKey: .agent)
        trainSplit = try c.decodeIfPresent(TrainSplit.self, forKey: .trainSplit) ?? .train
        density = try c.decodeIfPresent(Double.self, forKey: .density) ?? 1
        items = try c.decodeIfPresent(Int.self, forKey: .items) ?? 0
        shardCount = try c.decodeIfPresent(Int.self, forKey: .shardCount) ?? 0
        shardSizes = try c.decodeIfPresent([Int].self, forKey: .shardSizes) ?? []
        dataFingerprint = try c.decodeIfPresent(String.self, forKey: .dataFingerprint) ?? ""
        dataPath = try c.decodeIfPresent(String.self, forKey: .dataPath) ?? ""
        pushWindows = try c.decodeIfPresent(Int.self, forKey: .pushWindows) ?? 1
        pushPrecision = try c.decodeIfPresent(String.self, forKey: .pushPrecision) ?? "fp32"
        pushRows = try c.decodeIfPresent(Double.self, forKey: .pushRows) ?? 1
        deferredRows = try c.decodeIfPresent(String.self, forKey: .deferredRows) ?? "once"
        pushRowsScope = try c.decodeIfPresent(String.self, forKey: .pushRowsScope) ?? "all"
        pushRowsOther = try c.decodeIfPresent(Double.self, forKey: .pushRowsOther) ?? 1
        pushRowsRank = try c.decodeIfPresent(String.self, forKey: .pushRowsRank) ?? "norm"
        pushRowsWarmup = try c.decodeIfPresent(Int.self, forKey: .pushRowsWarmup) ?? 0
    }

    /// Refuses a data set whose fingerprint differs from the one these settings were made for
    /// (`what` says who is refusing; both fingerprints and paths go into the message).
    public func checkData(fingerprint: String, path: String, _ what: String) throws {
        guard !dataFingerprint.isEmpty, dataFingerprint != fingerprint else { return }
        throw DataFingerprint.mismatch(what, expected: dataFingerprint, expectedSource: dataPath.isEmpty ? "the server's data" : dataPath,
                                       found: fingerprint, foundSource: path)
    }

    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public static func parse(_ text: String) throws -> ClusterSettings {
        do {
            return try JSONDecoder().decode(ClusterSettings.self, from: Data(text.utf8))
        } catch {
            throw IRNError("server settings are not readable cluster settings: \(error)")
        }
    }
}
