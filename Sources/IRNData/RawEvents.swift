import IRNSupport

/// Events as read, before grouping: one entry per click or buy, with session and item ids
/// mapped to dense indices in order of first appearance.
public struct RawEvents {
    public var sessionTable = IdTable(expected: 1 << 16)
    public var itemTable = IdTable(expected: 1 << 14)
    public var session: [Int32] = []
    public var item: [Int32] = []
    public var time: [Int64] = []
    public var type: [UInt8] = []

    public init() {}

    public var count: Int { session.count }

    @inline(__always)
    public mutating func append(sessionId: Int64, itemId: Int64, time t: Int64, type ty: EventType) {
        session.append(sessionTable.index(of: sessionId))
        item.append(itemTable.index(of: itemId))
        time.append(t)
        type.append(ty.rawValue)
    }

    public mutating func reserve(_ n: Int) {
        session.reserveCapacity(n); item.reserveCapacity(n)
        time.reserveCapacity(n); type.reserveCapacity(n)
    }

    /// Groups events into sessions (in order of the sessions' first appearance), each sorted
    /// by time with ties broken clicks first, then file order. Items stay raw dense indices;
    /// `itemTable.ids` maps them back.
    public func grouped() -> SessionSet {
        var copy = self
        return copy.takeGrouped()
    }

    /// `grouped()`, releasing the raw arrays and the session table as soon as they are no
    /// longer needed (peak memory on the full data set); the item table stays.
    public mutating func takeGrouped() -> SessionSet {
        let nSessions = sessionTable.count
        let n = count
        var offsets = [Int](repeating: 0, count: nSessions + 1)
        for s in session { offsets[Int(s) + 1] += 1 }
        for s in 0..<nSessions { offsets[s + 1] += offsets[s] }
        // Stable counting sort by session: file order survives inside each session.
        var items = [Int32](repeating: 0, count: n)
        var types = [UInt8](repeating: 0, count: n)
        var times = [Int64](repeating: 0, count: n)
        var cursor = offsets
        session.withUnsafeBufferPointer { sp in
            item.withUnsafeBufferPointer { ip in
                type.withUnsafeBufferPointer { tp in
                    time.withUnsafeBufferPointer { mp in
                        items.withUnsafeMutableBufferPointer { oi in
                            types.withUnsafeMutableBufferPointer { ot in
                                times.withUnsafeMutableBufferPointer { om in
                                    for e in 0..<n {
                                        let s = Int(sp[e])
                                        let dst = cursor[s]
                                        cursor[s] = dst + 1
                                        oi[dst] = ip[e]; ot[dst] = tp[e]; om[dst] = mp[e]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        cursor = []
        session = []; item = []; time = []; type = []
        let sessionIds = sessionTable.ids
        sessionTable = IdTable()
        SessionOrdering.sortEachSession(offsets: offsets, items: &items, types: &types, times: &times)
        return SessionSet(ids: sessionIds, offsets: offsets, items: items, types: types, times: times)
    }
}

enum SessionOrdering {
    /// Sorts every session's events by (time, type) stably; sessions are short, so a stable
    /// insertion sort is used, with a keyed sort for the rare long ones.
    static func sortEachSession(offsets: [Int], items: inout [Int32], types: inout [UInt8], times: inout [Int64]) {
        items.withUnsafeMutableBufferPointer { ib in
            types.withUnsafeMutableBufferPointer { tb in
                times.withUnsafeMutableBufferPointer { mb in
                    for s in 0..<(offsets.count - 1) {
                        let lo = offsets[s], hi = offsets[s + 1]
                        if hi - lo < 2 { continue }
                        // Fast path: already in order.
                        var sorted = true
                        for e in (lo + 1)..<hi where mb[e] < mb[e - 1] || (mb[e] == mb[e - 1] && tb[e] < tb[e - 1]) {
                            sorted = false; break
                        }
                        if sorted { continue }
                        if hi - lo <= 64 {
                            for e in (lo + 1)..<hi {
                                let ki = ib[e], kt = tb[e], km = mb[e]
                                var j = e - 1
                                while j >= lo && (mb[j] > km || (mb[j] == km && tb[j] > kt)) {
                                    ib[j + 1] = ib[j]; tb[j + 1] = tb[j]; mb[j + 1] = mb[j]
                                    j -= 1
                                }
                                ib[j + 1] = ki; tb[j + 1] = kt; mb[j + 1] = km
                            }
                        } else {
                            let idx = (lo..<hi).sorted { a, b in
                                if mb[a] != mb[b] { return mb[a] < mb[b] }
                                if tb[a] != tb[b] { return tb[a] < tb[b] }
                                return a < b
                            }
                            let si = idx.map { ib[$0] }, st = idx.map { tb[$0] }, sm = idx.map { mb[$0] }
                            for k in 0..<idx.count { ib[lo + k] = si[k]; tb[lo + k] = st[k]; mb[lo + k] = sm[k] }
                        }
                    }
                }
            }
        }
    }
}
