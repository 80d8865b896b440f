/// Little-endian writer for message bodies.
struct WireBytesWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { int(v) }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func f64(_ v: Double) { int(v.bitPattern) }

    private mutating func int<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        u32(UInt32(u.count))
        bytes.append(contentsOf: u)
    }
}

/// Bounds-checked little-endian reader: every read that would run past the end throws.
struct WireBytesReader {
    let bytes: [UInt8]
    private(set) var offset = 0
    let what: String

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    var remaining: Int { bytes.count - offset }

    private mutating func int<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw .malformed("\(what): truncated at \(field) (offset \(offset), \(remaining) bytes left)")
        }
        let v = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        offset += size
        return v
    }

    mutating func u8(_ f: String) throws(WireError) -> UInt8 { try int(UInt8.self, f) }
    mutating func u16(_ f: String) throws(WireError) -> UInt16 { try int(UInt16.self, f) }
    mutating func u32(_ f: String) throws(WireError) -> UInt32 { try int(UInt32.self, f) }
    mutating func u64(_ f: String) throws(WireError) -> UInt64 { try int(UInt64.self, f) }

    mutating func f64(_ f: String) throws(WireError) -> Double {
        let d = Double(bitPattern: try int(UInt64.self, f))
        guard d.isFinite else { throw .nonFinite("\(what).\(f)") }
        return d
    }

    mutating func bool(_ f: String) throws(WireError) -> Bool {
        switch try u8(f) {
        case 0: return false
        case 1: return true
        case let b: throw .malformed("\(what): \(f) is \(b), not a boolean")
        }
    }

    mutating func string(_ f: String, max: Int = WireLimits.maxStringBytes) throws(WireError) -> String {
        let n = Int(try u32(f))
        guard n <= max else { throw .malformed("\(what): \(f) of \(n) bytes exceeds \(max)") }
        guard remaining >= n else { throw .malformed("\(what): \(f) truncated") }
        let s = bytes[offset..<(offset + n)]
        offset += n
        guard let str = String(validating: s, as: UTF8.self) else {
            throw .malformed("\(what): \(f) is not UTF-8")
        }
        return str
    }

    /// A count that must not exceed `max` (guards allocations driven by input).
    mutating func count(_ f: String, max: Int) throws(WireError) -> Int {
        let n = try u64(f)
        guard n <= UInt64(max) else { throw .malformed("\(what): \(f) = \(n) exceeds \(max)") }
        return Int(n)
    }

    func finish() throws(WireError) {
        guard remaining == 0 else { throw .malformed("\(what): \(remaining) trailing bytes") }
    }
}
