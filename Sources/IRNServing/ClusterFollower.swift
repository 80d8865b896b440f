import Foundation
import IRNAgents
import IRNNumerics
import IRNSupport
import IRNWire
import Logging
import Synchronization
import ZeroMQ

/// `irn serve --follow tcp://HOST:P`: a read-only member of the training cluster. It asks
/// the server once for a copy of the weights (weightsRequest on P; no Hello, so no lease and
/// no heartbeat), subscribes to the weight broadcast on P+1 exactly as an actor does
/// (`WeightReplica`: patches, gaps -> ask for a full copy, another run -> start over), pushes
/// nothing, and after each batch of patches swaps a new snapshot into the batcher.
/// It also polls the server's stats (REQ on P+2) once a second for the page's curves.
public final class ClusterFollower: Sendable {
    public let server: String
    private let batcher: Mutex<Batcher?> = Mutex(nil)
    private let history = Mutex<[String]>([])
    private let stop = Mutex(false)
    private let statsEvery: Double

    public init(server: String, statsEvery: Double = 1, scoring: ServingModel.Scoring = .pruned) throws {
        guard server.hasPrefix("tcp://"), let colon = server.lastIndex(of: ":"),
              let p = Int(server[server.index(after: colon)...]), p > 0, p + 2 < 65536 else {
            throw IRNError("--follow must look like tcp://HOST:PORT, got '\(server)'")
        }
        self.server = server
        self.statsEvery = statsEvery
        self.scoring = scoring
    }

    /// How served snapshots score (see `ServingModel.Scoring`).
    let scoring: ServingModel.Scoring

    func endpoint(offset: Int) -> String {
        let colon = server.lastIndex(of: ":")!
        return "\(server[..<colon]):\(Int(server[server.index(after: colon)...])! + offset)"
    }

    /// Blocks until the first full copy of the weights arrives (or `timeout`), returning it
    /// as a model; then keeps following on a thread of its own, swapping into `attach`'s batcher.
    public func firstModel(timeout: Double, logger: Logger) throws -> ServingModel {
        let ready = Mutex<ServingModel?>(nil)
        let t = Thread { [self] in
            do { try self.follow(logger: logger) { m in ready.withLock { if $0 == nil { $0 = m } } } } catch {
                logger.error("follower stopped", metadata: ["reason": "\(error)"])
            }
        }
        t.name = "irn-serve-follow"
        t.start()
        let end = monotonicSeconds() + timeout
        while monotonicSeconds() < end {
            if let m = ready.withLock({ $0 }) { return m }
            usleep(20_000)
        }
        stop.withLock { $0 = true }
        throw IRNError("no weights from \(server) within \(Int(timeout)) s (is irn-server running there, and new enough to answer a read-only subscriber?)")
    }

    /// Where new versions go (set once the batcher exists).
    public func attach(_ b: Batcher) { batcher.withLock { $0 = b } }

    public func requestStop() { stop.withLock { $0 = true } }

    private func follow(logger: Logger, first: (ServingModel) -> Void) throws {
        let ctx = try Context()
        let dealer = try ctx.socket(.dealer)
        let sub = try ctx.socket(.sub)
        defer { dealer.close(); sub.close() }
        // Few patches wait here: the backlog of a stalled process stays in the server's bounded
        // queue (--broadcast-queue), and a gap makes us fetch the full weights anyway.
        try sub.setReceiveHighWaterMark(4)
        try sub.subscribe()
        try sub.connect(endpoint(offset: 1))
        try dealer.setReconnectInterval(ms: 100, maxMs: 2000)
        try dealer.connect(server)
        let myRun = UInt64.random(in: 1...UInt64.max)
        var replica = WeightReplica()
        var runId: UInt64 = 0
        var shape: NetworkShape?
        var name = "agent"
        var params: NetworkParameters?
        var previous: ServingModel?
        var awaitingCopy = false
        var lastAsk = -1e9
        var lastStats = -1e9
        var dirty = false
        var stats: (req: Socket, sent: Double)? = nil

        func ask(_ now: Double) {
            lastAsk = now
            awaitingCopy = true
            _ = try? dealer.send(WireFormat.encode(.weightsRequest, senderRunId: myRun, flags: WireEnvelope.readOnlySubscriberFlag), dontWait: true)
        }

        while !stop.withLock({ $0 }) {
            let now = monotonicSeconds()
            if (shape == nil || awaitingCopy) && now - lastAsk > 1 { ask(now) }
            let ready = try poll([dealer, sub], timeoutMs: 50)
            if ready[0] {
                while let frames = try dealer.receive(dontWait: true) {
                    guard let env = try? WireFormat.decode(frames) else { continue }
                    switch env.message {
                    case .welcome(let w):
                        let settings = try ClusterSettings.parse(w.settingsJSON)
                        guard let agent = settings.agent else {
                            throw IRNError("the server trains '\(settings.algo)', which has no policy to serve")
                        }
                        guard !agent.head.hasNext else {
                            throw IRNError("following a --head repeat-next cluster is not supported yet (its transition table is not sent); serve its model file with --data instead")
                        }
                        if shape != agent.shape { params = nil }
                        shape = agent.shape
                        name = "\(agent.algorithm.rawValue) (following \(server))"
                        runId = w.runId
                        replica = WeightReplica()
                        replica.load(version: w.weightVersion, weights: w.weights, targetVersion: w.targetVersion, target: w.target)
                        awaitingCopy = false
                        dirty = true
                    case .bye(let reason):
                        logger.warning("server refused the weight copy", metadata: ["reason": "\(reason)"])
                    default: break
                    }
                }
            }
            if ready[1] {
                while let frames = try sub.receive(dontWait: true) {
                    guard let env = try? WireFormat.decode(frames), case .weights(let u) = env.message else { continue }
                    guard env.senderRunId == runId, !awaitingCopy else {
                        if shape != nil && env.senderRunId != runId && !awaitingCopy { ask(now) }  // a new server run
                        continue
                    }
                    switch replica.apply(u) {
                    case .applied: dirty = true
                    case .old: break
                    case .gap, .mismatch: ask(now)
                    }
                }
            }
            if dirty, let shape, !awaitingCopy {
                dirty = false
                let changes = replica.takeChanges().weights
                var policyRows: Set<Int32>? = nil
                if params == nil || changes == nil {
                    params = try NetworkParameters(shape: shape, wireParts: replica.weights)
                    previous = nil
                } else {
                    try params!.assign(from: replica.weights, changes: changes)  // copy-on-write: old snapshot untouched
                    switch changes?[ParameterGroup.policyWeights.name] {
                    case nil: policyRows = []
                    case .rows(let r)?: policyRows = Set(r)
                    case .all?: policyRows = nil
                    }
                }
                let m = ServingModel(agent: params!, version: replica.version, name: name, previous: previous, changedPolicyRows: policyRows, scoring: scoring)
                previous = m
                first(m)
                batcher.withLock { $0 }?.swap(m)
            }
            if now - lastStats >= statsEvery {
                lastStats = now
                stats = pollStats(ctx, stats, now: now)
            } else if let s = stats, (try? poll([s.req], timeoutMs: 0))?[0] == true {
                stats = pollStats(ctx, stats, now: now)
            }
        }
    }

    /// One stats request in flight at a time; a reply is recorded, an unanswered request is
    /// dropped after 3 s (a REQ socket cannot send twice, so it is replaced).
    private func pollStats(_ ctx: Context, _ cur: (req: Socket, sent: Double)?, now: Double) -> (req: Socket, sent: Double)? {
        if let c = cur {
            if let frames = try? c.req.receive(dontWait: true) {
                if let env = try? WireFormat.decode(frames), case .statsReply(let json) = env.message { record(json) }
                c.req.close()
                return nil
            }
            if now - c.sent < 3 { return c }
            c.req.close()
        }
        guard let req = try? ctx.socket(.req) else { return nil }
        try? req.setLinger(0)
        guard (try? req.connect(endpoint(offset: 2))) != nil,
              (try? req.send(WireFormat.encode(.statsRequest, senderRunId: 0), dontWait: true)) == true else {
            req.close()
            return nil
        }
        return (req, now)
    }

    /// Keeps the last 600 samples: the server's step, updates/s, staleness and evaluation.
    private func record(_ json: String) {
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return }
        var point: [String: Any] = ["t": Date().timeIntervalSince1970]
        for key in ["step", "updates_per_s", "epoch", "target_version"] { point[key] = obj[key] }
        point["staleness"] = obj["staleness"]
        point["eval"] = obj["eval"]
        point["served_version"] = (batcher.withLock { $0 }?.currentModel.version).map { Int($0) }
        guard let data = try? JSONSerialization.data(withJSONObject: point, options: [.sortedKeys]) else { return }
        let text = String(decoding: data, as: UTF8.self)
        history.withLock { h in
            h.append(text)
            if h.count > 600 { h.removeFirst(h.count - 600) }
        }
    }

    public func historyJSON() -> String {
        let points = history.withLock { $0 }
        return "{\"follow\":\(JSONText.quoted(server)),\"points\":[\(points.joined(separator: ","))]}"
    }
}
