import IRNSupport
import IRNWire
import Logging

/// Working through a lease: one gradient push per step, then "complete".
extension ActorClient {
    func start(_ l: Lease) {
        session?.lease = l
        producer.begin(lease: l)
        bump { $0.leases += 1 }
        logger.info("lease granted", metadata: ["lease": "\(l.leaseId)", "epoch": "\(l.epoch)",
                                               "shards": "\(l.shards.map { "\($0.shard)@\($0.done)/\($0.total)" })"])
    }

    func work(on l: Lease) throws {
        guard let g = try producer.nextGradient(replica: &replica) else {
            send(.leaseComplete(leaseId: l.leaseId, progress: producer.progress))
            logger.info("lease complete", metadata: ["lease": "\(l.leaseId)", "shards": "\(l.shards.map(\.shard))"])
            session?.lease = nil
            return
        }
        sequence += 1
        session?.pushed(at: monotonicSeconds())
        send(.gradient(GradientPush(sequence: sequence, envSteps: g.envSteps, leaseId: l.leaseId,
                                    progress: g.progress, stats: g.stats, parts: g.parts, bf16: g.bf16,
                                    rowSteps: g.rowSteps, rowSquareRatios: g.rowSquareRatios)))
        bump { $0.pushes += 1 }
    }
}
