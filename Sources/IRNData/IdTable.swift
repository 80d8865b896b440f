/// Open-addressing map from 64-bit ids to dense indices `0, 1, 2, …` in order of first
/// appearance. Millions of look-ups per second without Dictionary's per-entry overhead.
public struct IdTable {
    private var keys: [Int64]
    private var values: [Int32]  // -1 = empty slot
    private var mask: Int
    /// Original id of each dense index.
    public private(set) var ids: [Int64] = []

    public init(expected: Int = 1024) {
        var cap = 1024
        while cap < expected * 2 { cap <<= 1 }
        keys = [Int64](repeating: 0, count: cap)
        values = [Int32](repeating: -1, count: cap)
        mask = cap - 1
    }

    public var count: Int { ids.count }

    @inline(__always)
    static func slot(_ key: Int64, _ mask: Int) -> Int {
        var h = UInt64(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The dense index of `key`, adding it if new.
    @inline(__always)
    public mutating func index(of key: Int64) -> Int32 {
        if ids.count * 2 >= values.count { grow() }
        var s = IdTable.slot(key, mask)
        while true {
            let v = values[s]
            if v < 0 {
                let idx = Int32(ids.count)
                keys[s] = key
                values[s] = idx
                ids.append(key)
                return idx
            }
            if keys[s] == key { return v }
            s = (s + 1) & mask
        }
    }

    /// The dense index of `key`, or nil when absent.
    @inline(__always)
    public func find(_ key: Int64) -> Int32? {
        var s = IdTable.slot(key, mask)
        while true {
            let v = values[s]
            if v < 0 { return nil }
            if keys[s] == key { return v }
            s = (s + 1) & mask
        }
    }

    private mutating func grow() {
        let cap = values.count * 2
        var newKeys = [Int64](repeating: 0, count: cap)
        var newValues = [Int32](repeating: -1, count: cap)
        let newMask = cap - 1
        for s in 0..<values.count where values[s] >= 0 {
            var t = IdTable.slot(keys[s], newMask)
            while newValues[t] >= 0 { t = (t + 1) & newMask }
            newKeys[t] = keys[s]
            newValues[t] = values[s]
        }
        keys = newKeys
        values = newValues
        mask = newMask
    }
}
