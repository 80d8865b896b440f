/// Why a message was refused. Decoding never traps: every bad input ends here.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case noFrames
    case headerTooShort(Int)
    case badMagic
    case unsupportedVersion(UInt16)
    case unknownKind(UInt16)
    case frameCountMismatch(header: Int, actual: Int)
    case frameLengthMismatch(frame: Int, header: UInt64, actual: Int)
    case oversized(bytes: Int, limit: Int)
    case checksumMismatch
    case malformed(String)
    case nonFinite(String)
    /// A finite value too large for its use (gradients: `WireLimits.maxGradientExponent`).
    case outOfRange(String)
    case badTensor(String)

    public var description: String {
        switch self {
        case .noFrames: return "empty message"
        case .headerTooShort(let n): return "header frame of \(n) bytes is too short"
        case .badMagic: return "bad magic (not an IRN wire message)"
        case .unsupportedVersion(let v): return "unsupported wire version \(v) (we speak \(WireFormat.version))"
        case .unknownKind(let k): return "unknown message kind \(k)"
        case let .frameCountMismatch(h, a): return "header announces \(h) payload frames, message has \(a)"
        case let .frameLengthMismatch(i, h, a): return "payload frame \(i) is \(a) bytes, header says \(h)"
        case let .oversized(b, l): return "message of \(b) bytes exceeds the limit of \(l)"
        case .checksumMismatch: return "checksum mismatch"
        case .malformed(let s): return "malformed body: \(s)"
        case .nonFinite(let s): return "non-finite value in \(s)"
        case .outOfRange(let s): return "value out of range in \(s)"
        case .badTensor(let s): return "bad tensor: \(s)"
        }
    }

    /// A short stable label, used as a counter key in the server's stats.
    public var label: String {
        switch self {
        case .noFrames, .headerTooShort, .frameCountMismatch, .frameLengthMismatch: return "framing"
        case .badMagic: return "magic"
        case .unsupportedVersion: return "version"
        case .unknownKind: return "kind"
        case .oversized: return "oversized"
        case .checksumMismatch: return "checksum"
        case .malformed: return "malformed"
        case .nonFinite: return "non_finite"
        case .outOfRange: return "range"
        case .badTensor: return "tensor"
        }
    }
}
