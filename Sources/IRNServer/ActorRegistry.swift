import IRNWire

/// The actors the server knows and the shards they lease. An actor is keyed by its ZeroMQ
/// identity; it leaves by saying goodbye, by saying hello again (a restarted actor) or by
/// missing heartbeats for `heartbeatTimeout` seconds. Whoever leaves gives its shards back.
struct ActorRegistry {
    private(set) var rows: [[UInt8]: ActorRow] = [:]
    var leases: LeaseManager
    let heartbeatTimeout: Double

    init(leases: LeaseManager, heartbeatTimeout: Double) {
        self.leases = leases
        self.heartbeatTimeout = heartbeatTimeout
    }

    /// The lease key of an identity (hex).
    static func key(_ identity: [UInt8]) -> String {
        identity.map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined()
    }
    private static let hexDigits = (0..<16).map { String($0, radix: 16) }

    subscript(identity: [UInt8]) -> ActorRow? {
        get { rows[identity] }
        set { rows[identity] = newValue }
    }

    /// A hello: a known identity starts over (its shards go back first).
    mutating func join(_ identity: [UInt8], _ h: Hello, now: Double) {
        if rows[identity] != nil { leases.release(actor: Self.key(identity)) }
        rows[identity] = ActorRow(id: h.actorId, host: h.host, threads: h.threads, joinedAt: now, lastSeen: now)
    }

    /// A message from a known actor: it is alive. Nil for an unknown identity.
    mutating func heard(_ identity: [UInt8], bytes: Int, now: Double) -> ActorRow? {
        guard var row = rows[identity] else { return nil }
        row.lastSeen = now
        row.bytesIn += UInt64(bytes)
        rows[identity] = row
        return row
    }

    /// Removes the actor and returns the shards it held.
    @discardableResult
    mutating func leave(_ identity: [UInt8]) -> [UInt32] {
        rows.removeValue(forKey: identity)
        return leases.release(actor: Self.key(identity))
    }

    /// Removes actors not heard from within the timeout: (row, shards returned) for each.
    mutating func expire(now: Double) -> [(ActorRow, [UInt32])] {
        let late = rows.filter { now - $0.value.lastSeen > heartbeatTimeout }
        return late.map { identity, row in (row, leave(identity)) }
    }
}
