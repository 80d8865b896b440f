import Foundation
import IRNSupport
import IRNWire

/// Actor side of the cluster self-test (`irn-server --self-test`, see `VisitCountStore`): walks its
/// lease's shards session by session and pushes +1 on each session's row. Shard sizes come from
/// the server's settings ({"shard_sizes": [...]}); `delay` seconds per session simulate work.
public final class VisitCountProducer: GradientProducer {
    public let delay: Double
    private var offsets: [Int] = []
    private var total = 0
    private var lease: Lease?
    private var done: [UInt32: UInt64] = [:]

    public init(delay: Double = 0) { self.delay = delay }

    public func configure(settingsJSON: String) throws {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(settingsJSON.utf8)) as? [String: Any],
              let sizes = obj["shard_sizes"] as? [Int], sizes.allSatisfy({ $0 >= 0 }) else {
            throw IRNError("server settings carry no shard_sizes: is the server running --self-test?")
        }
        offsets = []
        total = 0
        for s in sizes { offsets.append(total); total += s }
    }

    public func begin(lease: Lease) {
        self.lease = lease
        done = Dictionary(uniqueKeysWithValues: lease.shards.map { ($0.shard, $0.done) })
    }

    public var progress: [ShardProgress] {
        (lease?.shards ?? []).map { ShardProgress(shard: $0.shard, done: done[$0.shard] ?? 0, total: $0.total) }
    }

    public func abandon() { lease = nil }

    public func nextGradient(replica: inout WeightReplica) throws -> ProducedGradient? {
        guard let l = lease, let s = l.shards.first(where: { (done[$0.shard] ?? 0) < $0.total }) else { return nil }
        guard Int(s.shard) < offsets.count else { throw IRNError("lease names shard \(s.shard), settings know \(offsets.count)") }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        _ = replica.takeChanges()
        let row = Int32(offsets[Int(s.shard)] + Int(done[s.shard]!))
        done[s.shard]! += 1
        // Store applies w += g (it is a counter, not SGD).
        return ProducedGradient(parts: [.rowSparse("visits", shape: [total], rows: [row], values: [1])],
                                envSteps: 1, progress: progress)
    }
}
