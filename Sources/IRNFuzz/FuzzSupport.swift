import Foundation
import IRNSupport

/// The fuzzer's random draws: one seeded stream per port, so a seed fixes every message.
struct FuzzRNG {
    var source: RandomSource

    init(seed: UInt64, stream: UInt64) { source = RandomSource(seed: seed, stream: stream) }

    mutating func next() -> UInt64 { source.next() }
    /// Uniform in 0..<n (n >= 1).
    mutating func int(_ n: Int) -> Int { Int(source.next() % UInt64(max(n, 1))) }
    mutating func int(in r: ClosedRange<Int>) -> Int { r.lowerBound + int(r.count) }
    mutating func chance(_ p: Double) -> Bool { Double(source.next() >> 11) / Double(1 << 53) < p }
    mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: source.next()) } }
    mutating func float(in r: ClosedRange<Float>) -> Float { r.lowerBound + (r.upperBound - r.lowerBound) * source.nextFloat() }
    /// A boundary-heavy 64-bit value.
    mutating func boundary64() -> UInt64 {
        pick([0, 1, 2, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, 1 << 53,
              UInt64(Int64.max), UInt64(Int64.max) + 1, UInt64.max - 1, UInt64.max, next()])
    }
}

/// Little-endian writer for forged bodies and headers (the fuzzer writes every field itself,
/// so it can write any value, including ones the real encoder never would).
struct LEWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { put(v) }
    mutating func u32(_ v: UInt32) { put(v) }
    mutating func u64(_ v: UInt64) { put(v) }
    mutating func f64(_ v: Double) { put(v.bitPattern) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func string(_ s: [UInt8], lengthLie: Int? = nil) {
        u32(UInt32(truncatingIfNeeded: lengthLie ?? s.count))
        bytes.append(contentsOf: s)
    }
    private mutating func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Counts by key, written as a JSON object with sorted keys.
struct Tally: Sendable {
    private(set) var counts: [String: Int] = [:]
    mutating func add(_ key: String, _ n: Int = 1) { counts[key, default: 0] += n }
    subscript(key: String) -> Int { counts[key] ?? 0 }
    var total: Int { counts.values.reduce(0, +) }
    var json: [String: Any] { counts }
}

/// Counts by (outer key, inner key), e.g. answers by mutation.
struct Tally2: Sendable {
    private(set) var counts: [String: Tally] = [:]
    mutating func add(_ a: String, _ b: String, _ n: Int = 1) { counts[a, default: Tally()].add(b, n) }
    var json: [String: Any] { counts.mapValues { $0.json } }
}

/// What one port's fuzz run did and saw.
struct PortReport {
    var port: String
    var protocolName: String
    var messages = 0
    var byMutation = Tally()
    var answers = Tally()
    var answersByMutation = Tally2()
    var timeouts = 0
    /// Problems found (a crash, a hang, a count that does not add up): empty when all is well.
    var failures: [String] = []
    var extra: [String: Any] = [:]

    mutating func fail(_ s: String) {
        if failures.count < 50 { failures.append(s) } else if failures.count == 50 { failures.append("...") }
    }

    var json: [String: Any] {
        var d: [String: Any] = [
            "port": port, "protocol": protocolName, "messages": messages,
            "by_mutation": byMutation.json, "answers": answers.json, "answers_by_mutation": answersByMutation.json,
            "timeouts": timeouts, "failures": failures,
        ]
        for (k, v) in extra { d[k] = v }
        return d
    }
}

func jsonText(_ obj: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}

func jsonObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}
