import Foundation
import IRNActor
import IRNNumerics
import IRNServer
import IRNSupport
import IRNWire
import Logging

/// A toy model for cluster tests: named Float vectors/matrices trained by plain SGD
/// (w -= lr * g). With lr = -1 and a row-sparse "visits" gradient of +1 per session, the
/// weights count how often each session was visited.
final class ToyStore: ParameterStore {
    var params: [String: TensorPart]
    var targetParams: [String: TensorPart]
    var lr: Float
    private(set) var version: UInt64 = 0
    var applyCount = 0

    init(params: [TensorPart], lr: Float) {
        self.params = Dictionary(uniqueKeysWithValues: params.map { ($0.name, $0) })
        self.targetParams = self.params
        self.lr = lr
    }

    func apply(views: [TensorPartView]) throws -> [String: WeightChange] {
        let gradient = views.map(\.part)
        for g in gradient {
            guard let p = params[g.name], p.shape == g.shape else { throw IRNError("unknown part \(g.name) \(g.shape)") }
        }
        var changed: [String: WeightChange] = [:]
        for g in gradient {
            var p = params[g.name]!
            let w = g.rowWidth
            if let rows = g.rows {
                for (i, r) in rows.enumerated() {
                    for j in 0..<w { p.values[Int(r) * w + j] -= lr * g.values[i * w + j] }
                }
                changed[g.name] = .rows(rows)
            } else {
                for j in 0..<p.values.count { p.values[j] -= lr * g.values[j] }
                changed[g.name] = .all
            }
            params[g.name] = p
        }
        version += 1
        applyCount += 1
        return changed
    }

    func weights(_ selection: [String: WeightChange]?) -> [TensorPart] {
        guard let selection else { return params.keys.sorted().map { params[$0]! } }
        return selection.keys.sorted().compactMap { name -> TensorPart? in
            guard let p = params[name] else { return nil }
            switch selection[name]! {
            case .all: return p
            case .rows(let rows):
                let w = p.rowWidth
                var vals: [Float] = []
                for r in rows { vals += p.values[(Int(r) * w)..<(Int(r) * w + w)] }
                return .rowSparse(name, shape: p.shape, rows: rows, values: vals)
            }
        }
    }

    func target() -> [TensorPart] { targetParams.keys.sorted().map { targetParams[$0]! } }
    func refreshTarget() { targetParams = params }

    func checkpointTensors() -> [String: SafetensorsTensor] {
        var t: [String: SafetensorsTensor] = ["version": SafetensorsTensor(int64s: [Int64(version)], shape: [1])]
        for (k, v) in params { t["w.\(k)"] = SafetensorsTensor(floats: v.values, shape: v.shape) }
        for (k, v) in targetParams { t["target.\(k)"] = SafetensorsTensor(floats: v.values, shape: v.shape) }
        return t
    }

    func restore(from t: [String: SafetensorsTensor]) throws {
        guard let v = try t["version"]?.int64s().first else { throw IRNError("no version") }
        for k in params.keys {
            guard let w = t["w.\(k)"], let tg = t["target.\(k)"] else { throw IRNError("missing \(k)") }
            params[k]!.values = try w.floats()
            targetParams[k]!.values = try tg.floats()
        }
        version = UInt64(v)
    }
}

/// Walks its lease's shards session by session; each gradient visits one session: +1 on the
/// session's row of "visits" (lr -1) and, optionally, a dense pull of "w" towards 1.
final class VisitProducer: GradientProducer {
    let shardSizes: [UInt64]
    let offsets: [Int]
    let delay: Double
    let gate: StartGate?
    var current: Lease?
    var done: [UInt32: UInt64] = [:]
    var began = 0
    var abandoned = 0
    var lastSeenVersion: UInt64 = 0
    /// (weight version, target version) the replica had at each gradient.
    var seen: [(UInt64, UInt64)] = []

    init(shardSizes: [UInt64], delay: Double = 0, gate: StartGate? = nil) {
        self.shardSizes = shardSizes
        var o: [Int] = []
        var acc = 0
        for s in shardSizes { o.append(acc); acc += Int(s) }
        offsets = o
        self.delay = delay
        self.gate = gate
    }

    var totalSessions: Int { shardSizes.reduce(0) { $0 + Int($1) } }

    func configure(settingsJSON: String) throws {}

    func begin(lease: Lease) {
        current = lease
        done = Dictionary(uniqueKeysWithValues: lease.shards.map { ($0.shard, $0.done) })
        began += 1
    }

    var progress: [ShardProgress] {
        (current?.shards ?? []).map { ShardProgress(shard: $0.shard, done: done[$0.shard] ?? 0, total: $0.total) }
    }

    func abandon() {
        current = nil
        abandoned += 1
    }

    func nextGradient(replica: inout WeightReplica) throws -> ProducedGradient? {
        guard let l = current else { return nil }
        guard let s = l.shards.first(where: { (done[$0.shard] ?? 0) < $0.total }) else { return nil }
        gate?.pass()
        if delay > 0 { usleep(UInt32(delay * 1e6)) }
        lastSeenVersion = replica.version
        seen.append((replica.version, replica.targetVersion))
        _ = replica.takeChanges()
        let idx = Int32(offsets[Int(s.shard)] + Int(done[s.shard]!))
        done[s.shard]! += 1
        let w = replica.weights["w"]!.values
        let pull = w.map { $0 - 1 }  // gradient of 0.5 (w - 1)^2, scaled by -1 below (lr is -1)
        return ProducedGradient(
            parts: [.rowSparse("visits", shape: [totalSessions, 1], rows: [idx], values: [1]),
                    .dense("w", shape: [2], values: pull.map { -0.05 * $0 })],
            envSteps: 1, progress: progress, stats: ["loss": Double(pull.map { $0 * $0 }.reduce(0, +))])
    }
}

func quietLogger(_ label: String) -> Logger {
    var l = Logger(label: label)
    l.logLevel = ProcessInfo.processInfo.environment["IRN_TEST_LOG"] == nil ? .critical : .debug
    return l
}
