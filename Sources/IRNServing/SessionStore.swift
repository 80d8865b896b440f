import IRNEvaluation
import IRNNumerics

/// Server-side state of one stateful session (`POST /v1/sessions/{id}/events`).
final class SessionEntry {
    let id: String
    var stateKey: String
    /// Agent: the LSTM state (H each) and, with the repeat head, the prefix features.
    var h: [Float] = []
    var c: [Float] = []
    var prefix: PrefixTracker?
    /// Generic models: a one-slot scorer holding the session's state.
    var scorer: (any SessionScorer)?
    /// Dense items seen so far (for exclude_seen and the length).
    var seen: Set<Int32> = []
    var length = 0
    var lastUsed: Double
    // LRU list links (most recent at head).
    var newer: SessionEntry?
    var older: SessionEntry?

    init(id: String, stateKey: String, now: Double) {
        self.id = id
        self.stateKey = stateKey
        lastUsed = now
    }
}

/// Sessions by id, least recently used first out: bounded by `capacity` (evicting the least
/// recently used) and by `ttl` seconds of idleness (expired on access and by `sweep`).
/// Touched only by the batcher thread, so it needs no lock.
final class SessionStore {
    let capacity: Int
    let ttl: Double
    private var byId: [String: SessionEntry] = [:]
    private var newest: SessionEntry?
    private var oldest: SessionEntry?
    private(set) var expired = 0
    private(set) var evicted = 0

    init(capacity: Int, ttl: Double) {
        self.capacity = max(1, capacity)
        self.ttl = ttl
    }

    var count: Int { byId.count }

    /// The live entry for `id` (marked used now), or a new empty one, making room first.
    func entry(_ id: String, stateKey: String, now: Double) -> SessionEntry {
        sweep(now: now)
        if let e = byId[id] {
            unlink(e)
            e.lastUsed = now
            pushNewest(e)
            return e
        }
        while byId.count >= capacity, let o = oldest {
            remove(o)
            evicted += 1
        }
        let e = SessionEntry(id: id, stateKey: stateKey, now: now)
        byId[id] = e
        pushNewest(e)
        return e
    }

    /// Drops sessions idle for longer than the TTL (oldest first: stops at the first live one).
    func sweep(now: Double) {
        while let o = oldest, now - o.lastUsed > ttl {
            remove(o)
            expired += 1
        }
    }

    func contains(_ id: String) -> Bool { byId[id] != nil }

    private func remove(_ e: SessionEntry) {
        unlink(e)
        byId.removeValue(forKey: e.id)
    }

    private func unlink(_ e: SessionEntry) {
        if let n = e.newer { n.older = e.older } else { newest = e.older }
        if let o = e.older { o.newer = e.newer } else { oldest = e.newer }
        e.newer = nil
        e.older = nil
    }

    private func pushNewest(_ e: SessionEntry) {
        e.older = newest
        e.newer = nil
        newest?.newer = e
        newest = e
        if oldest == nil { oldest = e }
    }
}
