import Foundation
import XCTest
import IRNActor
import IRNAgents
import IRNData
import IRNNumerics
import IRNServer
import IRNSupport
import IRNWire

/// The real model in the cluster: a server with `AgentStore` and actors with
/// `AgentProducer`, over loopback TCP, on a tiny hand-made data set.
final class AgentClusterTests: XCTestCase {

    /// Synchronous mode (one actor, --sync, --max-staleness 0, one lease of every shard) gives
    /// the model of single-process training (`irn train`'s Trainer, and a loop of the same pieces (Agent = GradientWorker + Adam +
    /// TargetSchedule) over the same epoch order (the global `epochOrder` by seed and epoch,
    /// which is `ClusterEpochOrder` of a lease holding every shard) and the same feeder).
    func testSyncModeEqualsSingleProcessTraining() throws {
        let dataset = tinyDataset()
        let repeatHead = PolicyHead.repeatAware(features: [true, true, true, true], gate: .state)
        // The last case adds the click term (the actor must take it from the welcome), the
        // weight average (the server must keep the one irn train keeps) and the co-occurrence
        // source (the actor must build the same table).
        for (algo, head, extras) in [(Algorithm.irnP, PolicyHead.plain, false), (.a3cF, .plain, false), (.prnP, repeatHead, false),
                                     (.irnP, PolicyHead.repeatNext(followersPerItem: 5), false), (.a3cP, PolicyHead.repeatNext(followersPerItem: 5, nextSessionSource: .cooccurrence), true)] {
            var agent = tinyAgent(algo, items: dataset.itemCount)
            agent.head = head
            if extras { agent.clickWeight = 0.5; agent.weightAverage = 0.9 }
            // Repeat-next: the server's table (checksum in the welcome); the actor rebuilds it.
            try agent.attachTransitions(from: dataset, split: .train)
            var (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 2, shardsPerLease: dataset.shardCount)
            cfg.maxStaleness = 0
            cfg.broadcastInterval = 0.25  // S = 0 must still broadcast after every update
            let (store, server, serverRun) = try startAgentServer(cfg, agent: agent)
            var ac = actorConfig(server, id: "sync")
            ac.syncWeights = true
            ac.maxInFlight = 1
            let producer = AgentProducer(dataset: dataset)
            let actor = try ActorClient(config: ac, producer: producer, logger: quietLogger("actor"))
            let actorRun = Runner("actor") { try actor.run() }
            XCTAssertEqual(try XCTUnwrap(actorRun.wait(180)).get(), .finished)
            XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
            XCTAssertEqual(actor.counts.stale, 0)
            XCTAssertEqual(producer.worker?.config, agent, "the actor took every agent setting (head included) from the welcome")

            // Single process, same pieces.
            let single = try Agent(config: agent)
            var window = RolloutWindow(steps: agent.window, slots: agent.slots, lookahead: agent.nStep)
            var iterations = 0
            for epoch in 0..<2 {
                let global = dataset.epochOrder(of: dataset.train, shards: 0..<dataset.shardCount, seed: agent.seed, epoch: epoch)
                let clusterOrder = ClusterEpochOrder(dataset: dataset, set: dataset.train,
                                                     lease: (0..<dataset.shardCount).map { ($0, 0) }, seed: agent.seed, epoch: epoch)
                XCTAssertEqual(clusterOrder.sessions, global, "a lease of every shard replays the global order")
                let feeder = SessionWindowFeeder(sessions: dataset.train, order: global, config: agent, density: 1)
                single.resetState()
                while feeder.next(into: &window) {
                    try single.iterate(window)
                    iterations += 1
                }
            }
            // And `irn train`'s Trainer (epochs by startEpoch + trainIteration, no validation).
            var options = TrainerOptions()
            options.epochs = 2
            options.trainSplit = .train
            let trainer = try Trainer(config: agent, options: options, dataset: dataset)
            trainer.showProgress = false
            for epoch in 0..<2 {
                trainer.startEpoch(epoch)
                while try trainer.trainIteration() != nil {}
            }
            XCTAssertEqual(trainer.iteration, iterations)
            for g in agent.shape.parameterGroups {
                let d = maxRelativeDifference(store.parameters[g], trainer.agent.parameters[g])
                XCTAssertLessThanOrEqual(d, 1e-5, "\(algo) vs Trainer \(g.name): relative difference \(d)")
            }

            XCTAssertEqual(store.version, UInt64(iterations), "\(algo): one update per window")
            XCTAssertEqual(store.model.optimizer.step, single.optimizer.step)
            XCTAssertGreaterThan(single.schedule.refreshes, 2)
            for g in agent.shape.parameterGroups {
                let d = maxRelativeDifference(store.parameters[g], single.parameters[g])
                XCTAssertLessThanOrEqual(d, 1e-5, "\(algo) \(g.name): relative difference \(d)")
                let dt = maxRelativeDifference(store.model.target[g], single.target[g])
                XCTAssertLessThanOrEqual(dt, 1e-5, "\(algo) target \(g.name): relative difference \(dt)")
            }
            XCTAssertNotEqual(store.parameters, agent.initialParameters(), "training moved the weights")
            XCTAssertEqual(store.model.averaged == nil, !extras)
            for g in agent.shape.parameterGroups {
                let d = maxRelativeDifference(store.evaluationParameters[g], trainer.agent.evaluationParameters[g])
                XCTAssertLessThanOrEqual(d, 1e-5, "\(algo) average \(g.name): relative difference \(d)")
            }
        }
    }

    /// Two actors train IRN-P to the end; stats show both, a rising step, evaluation metrics,
    /// and every training session started exactly once per epoch.
    func testTwoActorsTrainIRNPToTheEndWithEvaluation() throws {
        let dataset = tinyDataset(sessions: 80)
        let agent = tinyAgent(.irnP, items: dataset.itemCount)
        let (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 2)
        let store = AgentStore(config: agent)
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let evaluator = BackgroundEvaluator(sessions: dataset.valid, split: "valid", options: .init(threads: 1), logger: quietLogger("eval"))
        server.onUpdate = { [evaluator, store] server, version in
            guard version % 5 == 0 else { return }
            evaluator.start(store.parameters, step: version) { [weak server] m in server?.setEvalMetrics(m) }
        }
        let serverRun = Runner("server") { try server.run() }
        // Both actors join before either computes (alone, one could finish the run first); 10 ms
        // a gradient keeps the run long enough to see a background evaluation land in the stats.
        let gate = StartGate()
        let a1 = try ActorClient(config: actorConfig(server, id: "alpha"), producer: SlowProducer(AgentProducer(dataset: dataset), delay: 0.01, gate: gate), logger: quietLogger("a1"))
        let a2 = try ActorClient(config: actorConfig(server, id: "beta"), producer: SlowProducer(AgentProducer(dataset: dataset), delay: 0.01, gate: gate), logger: quietLogger("a2"))
        let r1 = Runner("a1") { try a1.run() }, r2 = Runner("a2") { try a2.run() }
        try waitUntil(30, "both actors joined") { a1.counts.joins == 1 && a2.counts.joins == 1 }
        gate.open()

        try waitUntil(30, "both actors pushing") { a1.counts.pushes > 2 && a2.counts.pushes > 2 }
        let s1 = try stats(server)
        // Both conditions in one wait: evaluation can land before the next update does.
        try waitUntil(30, "evaluation metrics and a higher step") {
            guard let s = try? stats(server) else { return false }
            return !(s["eval"] as? [String: Any] ?? [:]).isEmpty && (s["step"] as? Int ?? 0) > (s1["step"] as! Int)
        }
        let s2 = try stats(server)
        XCTAssertEqual((s2["actors"] as! [[String: Any]]).map { $0["id"] as! String }, ["alpha", "beta"])
        XCTAssertGreaterThan(s2["step"] as! Int, s1["step"] as! Int)
        let eval = s2["eval"] as! [String: Any]
        XCTAssertNotNil(eval["valid.purchase.recall@5"] as? Double)
        XCTAssertNotNil((s2["recent_means"] as? [String: Any])?["reconstruction_loss"])

        XCTAssertEqual(try XCTUnwrap(r1.wait(120)).get(), .finished)
        XCTAssertEqual(try XCTUnwrap(r2.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        evaluator.wait()
        let usable = (0..<dataset.train.count).filter { dataset.train.length(of: $0) >= 2 }.count
        XCTAssertEqual(server.statsDictionary()["sessions_started"] as? [Int], [usable, usable])
        XCTAssertGreaterThan(a1.counts.applied, 0)
        XCTAssertGreaterThan(a2.counts.applied, 0)
        for g in agent.shape.parameterGroups { XCTAssertTrue(store.parameters[g].allSatisfy(\.isFinite), g.name) }
    }

    /// `--push-rows` over real sockets (with bf16 pushes and bf16 weight patches): the actor
    /// sends each matrix's largest rows only, so every update moves at most that many rows of
    /// the policy matrix (lazy Adam on the server), and the run still trains to the end with
    /// finite weights.
    func testRowBudgetPushesMoveOnlyTheirRows() throws {
        let (rows, budget, updates) = try policyRowsMovedPerUpdate(pushRows: 0.25, warmup: 0)
        XCTAssertGreaterThan(updates, 3)
        XCTAssertGreaterThan(rows.max() ?? 0, 0)
        XCTAssertLessThanOrEqual(rows.max() ?? 0, budget, "an update moved more policy rows than a push carries")
    }

    /// Under --push-rows-warmup the actor reads the server's version: the first update, on the
    /// initial weights, carries every row the window touched, past the budget; after the
    /// warm-up no update moves more than the budget.
    func testRowBudgetWarmupStartsWithWholePushes() throws {
        let (rows, budget, updates) = try policyRowsMovedPerUpdate(pushRows: 0.25, warmup: 4)
        XCTAssertGreaterThan(updates, 10)
        XCTAssertGreaterThan(rows[0], budget, "the first update should carry more rows than the budget")
        XCTAssertLessThanOrEqual(rows.dropFirst(8).max() ?? 0, budget, "after the warm-up an update moved more rows than the budget")
    }

    /// Trains a tiny IRN-P for one epoch over real sockets with a row budget (bf16 both ways,
    /// deferred moments) and returns the policy rows each update moved.
    private func policyRowsMovedPerUpdate(pushRows: Double, warmup: Int) throws -> (rows: [Int], budget: Int, updates: Int) {
        let dataset = tinyDataset(sessions: 60)
        let agent = tinyAgent(.irnP, items: dataset.itemCount)
        var (cfg, settings) = agentServerConfig(dataset, agent: agent, epochs: 1)
        settings.pushRows = pushRows
        settings.pushRowsWarmup = warmup
        settings.deferredRows = "moments"  // step counts and square ratios travel and reach Adam
        settings.pushPrecision = "bf16"
        cfg.settingsJSON = settings.json()
        cfg.broadcastBF16 = true
        let store = AgentStore(config: agent)
        let server = try ParameterServer(config: cfg, store: store, logger: quietLogger("server"))
        let budget = Int((pushRows * Double(dataset.itemCount)).rounded(.up))
        let width = agent.hidden
        let seen = Locked((previous: store.parameters[.policyWeights], rowsMoved: [Int]()))
        server.onUpdate = { [store] _, _ in
            let now = store.parameters[.policyWeights]
            seen.withLock { s in
                let moved = (0..<dataset.itemCount).filter { r in (0..<width).contains { now[r * width + $0] != s.previous[r * width + $0] } }.count
                s.rowsMoved.append(moved)
                s.previous = now
            }
        }
        let serverRun = Runner("server") { try server.run() }
        let a = try ActorClient(config: actorConfig(server, id: "alpha"), producer: AgentProducer(dataset: dataset), logger: quietLogger("a"))
        let run = Runner("a") { try a.run() }
        XCTAssertEqual(try XCTUnwrap(run.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        for g in agent.shape.parameterGroups { XCTAssertTrue(store.parameters[g].allSatisfy(\.isFinite), g.name) }
        let rows = seen.withLock { $0.rowsMoved }
        return (rows, budget, rows.count)
    }

    /// An actor that vanishes mid-epoch (no goodbye, as kill -9): its shards go to the other
    /// after the heartbeat timeout and every session is still started exactly once per epoch.
    func testVanishedActorsSessionsCountedExactlyOnce() throws {
        let dataset = tinyDataset(sessions: 80)
        let agent = tinyAgent(.irnP, items: dataset.itemCount)
        let (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 2)
        let (_, server, serverRun) = try startAgentServer(cfg, agent: agent)
        // Both slowed down (the victim most) so that the victim is still mid-run when it is
        // killed, however late this thread gets to do that on a loaded machine.
        let victim = try ActorClient(config: actorConfig(server, id: "victim"), producer: SlowProducer(AgentProducer(dataset: dataset), delay: 0.05), logger: quietLogger("v"))
        let rv = Runner("victim") { try victim.run() }
        try waitUntil(30, "victim pushing") { victim.counts.applied >= 3 }
        let survivor = try ActorClient(config: actorConfig(server, id: "survivor"), producer: SlowProducer(AgentProducer(dataset: dataset), delay: 0.005), logger: quietLogger("s"))
        let rs = Runner("survivor") { try survivor.run() }
        try waitUntil(30, "survivor pushing") { survivor.counts.pushes >= 1 }
        XCTAssertFalse(server.isFinished)
        victim.requestStop(graceful: false)
        XCTAssertEqual(try XCTUnwrap(rv.wait(30)).get(), .abandoned)
        XCTAssertEqual(try XCTUnwrap(rs.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        let s = server.statsDictionary()
        XCTAssertEqual(s["actors_timed_out"] as? Int, 1)
        let usable = (0..<dataset.train.count).filter { dataset.train.length(of: $0) >= 2 }.count
        XCTAssertEqual(s["sessions_started"] as? [Int], [usable, usable])
    }

    /// A server stopped mid-run (SIGTERM path) and started again on its checkpoint directory
    /// resumes exactly: step, weights, Adam moments, target, shard progress; the actor rejoins
    /// by itself and training ends with every session started once per epoch.
    func testServerRestartResumesExactly() throws {
        let dataset = tinyDataset(sessions: 80)
        let agent = tinyAgent(.irnP, items: dataset.itemCount)
        var (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("irn-agent-restart-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        cfg.checkpointDirectory = dir
        let store1 = AgentStore(config: agent)
        let server1 = try ParameterServer(config: cfg, store: store1, logger: quietLogger("server1"))
        cfg.port = server1.port
        let run1 = Runner("server1") { try server1.run() }
        var ac = actorConfig(server1, id: "phoenix")
        ac.serverSilenceTimeout = 5  // (the shutdown bye normally tells it sooner)
        // 20 ms a gradient: the stop below comes well before the end of the run (about 50
        // updates), however late this thread sees step 12 on a loaded machine.
        let actor = try ActorClient(config: ac, producer: SlowProducer(AgentProducer(dataset: dataset), delay: 0.02), logger: quietLogger("a"))
        let ra = Runner("actor") { try actor.run() }
        try waitUntil(30, "some training") { store1VersionAtLeast(server1, 12) }
        server1.requestStop()
        XCTAssertNoThrow(try XCTUnwrap(run1.wait(60)).get())
        let saved = (store1.version, store1.parameters, store1.model.target, store1.model.optimizer.namedMoments().map(\.values),
                     store1.model.optimizer.step, server1.statsDictionary()["sessions_this_epoch"] as! Int)
        XCTAssertFalse(server1.isFinished)

        let store2 = AgentStore(config: agent)
        let server2 = try ParameterServer(config: cfg, store: store2, logger: quietLogger("server2"))
        XCTAssertNotNil(server2.resumedFrom)
        XCTAssertEqual(store2.version, saved.0)
        XCTAssertEqual(store2.parameters, saved.1)
        XCTAssertEqual(store2.model.target, saved.2)
        XCTAssertEqual(store2.model.optimizer.namedMoments().map(\.values), saved.3)
        XCTAssertEqual(store2.model.optimizer.step, saved.4)
        XCTAssertEqual(server2.statsDictionary()["sessions_this_epoch"] as? Int, saved.5)
        let run2 = Runner("server2") { try server2.run() }
        XCTAssertEqual(try XCTUnwrap(ra.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(run2.wait(60)).get())
        XCTAssertGreaterThan(actor.counts.joins, 1, "the actor rejoined the restarted server")
        XCTAssertGreaterThan(store2.version, saved.0)
        let usable = (0..<dataset.train.count).filter { dataset.train.length(of: $0) >= 2 }.count
        XCTAssertEqual(server2.statsDictionary()["sessions_started"] as? [Int], [usable, usable])
    }
}

private func store1VersionAtLeast(_ server: ParameterServer, _ n: Int) -> Bool {
    ((try? stats(server))?["step"] as? Int ?? 0) >= n
}

/// Slows a producer down (tests need the run to last long enough to look at it).
final class SlowProducer: GradientProducer {
    let inner: any GradientProducer
    let delay: Double
    let gate: StartGate?
    init(_ inner: any GradientProducer, delay: Double = 0.005, gate: StartGate? = nil) {
        self.inner = inner
        self.delay = delay
        self.gate = gate
    }
    func configure(settingsJSON: String) throws { try inner.configure(settingsJSON: settingsJSON) }
    func begin(lease: Lease) { inner.begin(lease: lease) }
    var progress: [ShardProgress] { inner.progress }
    func abandon() { inner.abandon() }
    func nextGradient(replica: inout WeightReplica) throws -> ProducedGradient? {
        gate?.pass()
        Thread.sleep(forTimeInterval: delay)
        return try inner.nextGradient(replica: &replica)
    }
}

/// An actor whose data set is not the server's refuses the settings: its run ends with
/// `.refusedSettings` (irn-actor exits 1 on it), it gives its granted shards back and says
/// goodbye, and a good actor still trains every session once per epoch.
final class RefusedSettingsTests: XCTestCase {
    func testActorOnOtherDataRefusesSettingsAndLeavesCleanly() throws {
        let dataset = tinyDataset(sessions: 40)
        let agent = tinyAgent(.irnP, items: dataset.itemCount)
        let (cfg, _) = agentServerConfig(dataset, agent: agent, epochs: 1)
        let (_, server, serverRun) = try startAgentServer(cfg, agent: agent)

        let other = tinyDataset(sessions: 40, items: 30)  // 30 items, not the server's 24
        let stranger = try ActorClient(config: actorConfig(server, id: "stranger"), producer: AgentProducer(dataset: other), logger: quietLogger("x"))
        let outcome = try XCTUnwrap(Runner("stranger") { try stranger.run() }.wait(60)).get()
        guard case .refusedSettings(let reason) = outcome else { return XCTFail("outcome \(outcome)") }
        XCTAssertTrue(reason.contains("not the same prepared data"), reason)
        XCTAssertTrue(outcome.isFailure)
        XCTAssertEqual(stranger.counts.joins, 0)
        XCTAssertEqual(stranger.counts.pushes, 0)
        // Its goodbye reached the server: no actor left, nothing waits for a timeout.
        try waitUntil(30, "the stranger gone from the stats") { ((try? stats(server))?["actors"] as? [Any])?.isEmpty == true }

        let member = try ActorClient(config: actorConfig(server, id: "member"), producer: AgentProducer(dataset: dataset), logger: quietLogger("m"))
        XCTAssertEqual(try XCTUnwrap(Runner("member") { try member.run() }.wait(120)).get(), .finished)
        XCTAssertNoThrow(try XCTUnwrap(serverRun.wait(60)).get())
        let s = server.statsDictionary()
        XCTAssertEqual(s["actors_timed_out"] as? Int, 0)
        let usable = (0..<dataset.train.count).filter { dataset.train.length(of: $0) >= 2 }.count
        XCTAssertEqual(s["sessions_started"] as? [Int], [usable])
        XCTAssertFalse(ActorClient.Outcome.finished.isFailure)
        XCTAssertFalse(ActorClient.Outcome.stopped.isFailure)
    }
}
