import Foundation
import IRNAgents
import IRNData
import IRNNumerics
import IRNSupport
import Logging

/// The server's own state that a checkpoint carries besides the model: the lease table, the
/// target schedule and the counters the exactly-once check reads.
struct ServerProgress {
    var leases: LeaseManager
    var target: TargetSchedule
    var envSteps: UInt64 = 0
    var sessionsStarted: [UInt64] = []
}

/// Writes checkpoints when something changed (periodically, on stop, at the end) and finds
/// the newest good one on start. Tensors of the server's own state are named "server.*".
struct ServerCheckpointer {
    let store: CheckpointStore
    let every: Double
    private(set) var lastTime: Double
    private var lastKey: (version: UInt64, progress: UInt64) = (UInt64.max, 0)
    /// Checkpoints written and failed (a full disk, a read-only directory, ...) by this run,
    /// the last failure's reason and the version of the last good checkpoint: the stats show
    /// them, so a run that silently stopped checkpointing is visible.
    private(set) var written: UInt64 = 0
    private(set) var failures: UInt64 = 0
    private(set) var lastError: String?
    private(set) var lastGoodVersion: UInt64?
    /// Checkpoint files `resume` passed over (they did not verify): moved aside as
    /// `<name>.corrupt`, so they neither shadow newer good ones nor take a `keep` slot.
    private(set) var skipped: [URL] = []
    /// The checksum stored in the checkpoint `resume` restored.
    private(set) var resumedChecksum: String?
    /// Record lines (`ServerRecord`): (kind, fields).
    var record: ((String, [String: Any]) -> Void)?

    init(store: CheckpointStore, every: Double, now: Double) {
        self.store = store
        self.every = every
        lastTime = now
    }

    func due(_ now: Double) -> Bool { now - lastTime >= every }

    /// After a failed write: try again this soon (not on every pass of the server's loop, which
    /// would serialize the whole model every 50 ms while the disk is full; not only after a
    /// whole `every` either, which may be ten minutes of work at risk once space returns).
    var retryAfterFailure: Double { min(every, 10) }

    /// Writes model + progress unless nothing changed since the last write (or `force`).
    /// A failed write is logged and leaves the previous checkpoints as they were.
    /// `status` ("early-stopped") marks a run that ended before its epochs did, so it is not
    /// resumed as if it were still running. `extra` tensors (the item map) are stored as they are.
    mutating func write(model: any ParameterStore, progress p: ServerProgress, settingsJSON: String,
                        status: String? = nil, extra: [String: SafetensorsTensor] = [:],
                        force: Bool = false, logger: Logger) -> URL? {
        let key = (model.version, p.leases.progress.reduce(0, +) + UInt64(p.leases.epoch) << 40)
        if !force && key == lastKey { return nil }
        var t = model.checkpointTensors()
        for (k, v) in extra { t[k] = v }
        for (k, v) in p.leases.checkpointTensors() { t[k] = v }
        func scalar(_ x: Int) -> SafetensorsTensor { SafetensorsTensor(int64s: [Int64(x)], shape: [1]) }
        t["server.env_steps"] = scalar(Int(p.envSteps))
        t["server.target_version"] = scalar(p.target.refreshes)
        t["server.target_count"] = scalar(p.target.count)
        if !p.sessionsStarted.isEmpty {
            t["server.sessions_started"] = SafetensorsTensor(int64s: p.sessionsStarted.map { Int64($0) }, shape: [p.sessionsStarted.count])
        }
        let checksum = CheckpointStore.checksum(t)
        let progressFields: [String: Any] = ["version": Int(model.version), "checksum": checksum, "epoch": Int(p.leases.epoch),
                                             "progress": p.leases.progress.map { Int($0) },
                                             "file": CheckpointStore.fileName(version: model.version)]
        // Before the file can exist: a kill -9 between the rename and the line after it must
        // not leave a checkpoint the record does not know.
        record?("checkpoint_begin", progressFields)
        do {
            var meta = ["settings": settingsJSON]
            if let s = status { meta["status"] = s }
            let url = try store.save(t, version: model.version, metadata: meta, checksum: checksum)
            lastKey = key
            lastTime = monotonicSeconds()
            written += 1
            lastGoodVersion = model.version
            record?("checkpoint", progressFields)
            logger.info("checkpoint written", metadata: ["file": "\(url.path)", "step": "\(model.version)"])
            return url
        } catch {
            failures += 1
            lastError = "\(error)"
            // The previous checkpoints are untouched (the write goes to a temporary file first);
            // training goes on and the write is tried again in `retryAfterFailure` seconds.
            lastTime = monotonicSeconds() - every + retryAfterFailure
            record?("checkpoint_failed", ["version": Int(model.version), "reason": "\(error)"])
            logger.error("checkpoint failed; keeping the previous ones, retrying later", metadata: [
                "reason": "\(error)", "step": "\(model.version)", "failures": "\(failures)",
                "retry_in_s": "\(retryAfterFailure)", "last_good_step": "\(lastGoodVersion.map(String.init) ?? "none")",
            ])
            return nil
        }
    }

    /// Restores `model` and `progress` from the newest readable checkpoint (unreadable ones
    /// are logged and skipped). Returns its path and its `status` metadata, or nil when there
    /// is none. A checkpoint of another data set (its settings' fingerprint differs from
    /// `settingsJSON`'s) is refused with both fingerprints and paths.
    mutating func resume(model: any ParameterStore, progress p: inout ServerProgress, settingsJSON: String,
                         logger: Logger) throws -> (url: URL, status: String?)? {
        store.removeTemporaryFiles()
        var skipped: [URL] = []
        let found = store.loadNewest { url, error in
            logger.error("skipping unreadable checkpoint", metadata: ["file": "\(url.path)", "reason": "\(error)"])
            skipped.append(url)
        }
        self.skipped = skipped
        // Only the latest start's corrupt files are kept for a look: kept for ever, they would
        // fill a small disk one checkpoint size per corruption (the first chaos runs did).
        if !skipped.isEmpty { store.removeCorruptFiles() }
        for url in skipped {
            let aside = url.appendingPathExtension("corrupt")
            try? FileManager.default.removeItem(at: aside)
            if (try? FileManager.default.moveItem(at: url, to: aside)) != nil {
                logger.warning("unreadable checkpoint moved aside", metadata: ["file": "\(aside.path)"])
            }
        }
        guard let (url, file) = found else {
            logger.info("no checkpoint to resume from", metadata: ["dir": "\(store.directory.path)"])
            return nil
        }
        if let ours = try? ClusterSettings.parse(settingsJSON), let theirs = file.metadata["settings"].flatMap({ try? ClusterSettings.parse($0) }),
           !theirs.dataFingerprint.isEmpty, !ours.dataFingerprint.isEmpty, theirs.dataFingerprint != ours.dataFingerprint {
            throw DataFingerprint.mismatch("checkpoint \(url.path) belongs to another data set than --data \(ours.dataPath)",
                                           expected: theirs.dataFingerprint, expectedSource: "\(url.path) (data \(theirs.dataPath))",
                                           found: ours.dataFingerprint, foundSource: ours.dataPath)
        }
        let t = file.tensors
        try model.restore(from: t.filter { !$0.key.hasPrefix("server.") })
        try p.leases.restore(from: t)
        func count(_ name: String) throws -> Int? { try t[name]?.int64s().first.map { Int(max(0, $0)) } }
        p.envSteps = UInt64(try count("server.env_steps") ?? 0)
        // Checkpoints written before the schedule was shared recorded the last refresh mark.
        let mark = try count("server.target_count") ?? count("server.target_mark") ?? 0
        p.target = TargetSchedule(every: p.target.every, unit: p.target.unit, count: mark,
                                  refreshes: try count("server.target_version") ?? 0)
        p.sessionsStarted = try (t["server.sessions_started"]?.int64s() ?? []).map { UInt64(max(0, $0)) }
        lastKey = (model.version, p.leases.progress.reduce(0, +) + UInt64(p.leases.epoch) << 40)
        lastGoodVersion = model.version
        resumedChecksum = file.metadata["checksum"]
        return (url, file.metadata["status"])
    }
}
