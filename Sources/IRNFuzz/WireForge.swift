import IRNNumerics
import IRNWire

/// One field of a message body, typed as the wire writes it (so a mutation can replace a
/// value by another of the same width, or break the width on purpose).
enum BodyField {
    case u8(UInt8), u32(UInt32), u64(UInt64), f64(Double), str([UInt8]), raw([UInt8])

    func write(_ w: inout LEWriter) {
        switch self {
        case .u8(let v): w.u8(v)
        case .u32(let v): w.u32(v)
        case .u64(let v): w.u64(v)
        case .f64(let v): w.f64(v)
        case .str(let s): w.string(s)
        case .raw(let b): w.raw(b)
        }
    }
}

/// A tensor part as the fuzzer writes it: every field separately, so shapes, row counts and
/// value frames can disagree.
struct PartSpec {
    var name: [UInt8]
    var sparse: Bool
    var shape: [UInt64]
    var rankLie: UInt8?
    var rows: [Int32]?
    var rowCountLie: UInt64?
    var values: [Float]
    /// Raw bf16 words to send instead of rounding `values` (to plant NaN patterns).
    var bf16Words: [UInt16]?
}

/// A gradient push with every field in the fuzzer's hands.
struct GradientSpec {
    var sequence: UInt64
    var envSteps: UInt64
    var leaseId: UInt64
    var progress: [ShardProgress]
    var stats: [(String, Double)]
    var bf16: Bool
    /// Values travel as Float32 even though the bf16 flag says otherwise (or the reverse).
    var valuesAsBF16: Bool
    var parts: [PartSpec]
}

/// The header as the fuzzer writes it (lies included).
struct HeaderSpec {
    var magic: [UInt8] = Array("IRNW".utf8)
    var version: UInt16 = WireFormat.version
    var kind: UInt16
    var flags: UInt32 = 0
    var runId: UInt64
    var weightVersion: UInt64
    var frameCountLie: UInt32?
    var lengthLie: (frame: Int, length: UInt64)?
    var badChecksum = false
    var cutTo: Int?
    var extra: [UInt8] = []
}

/// Builds header frames exactly as `WireFormat` does (magic, version, kind, flags, count, run
/// id, weight version, checksum, lengths), with a correct checksum over whatever lies the
/// header tells, unless the spec asks for a wrong one.
func sealFrames(_ h: HeaderSpec, payload: [[UInt8]]) -> [[UInt8]] {
    var w = LEWriter()
    w.raw(h.magic)
    w.u16(h.version)
    w.u16(h.kind)
    w.u32(h.flags)
    w.u32(h.frameCountLie ?? UInt32(payload.count))
    w.u64(h.runId)
    w.u64(h.weightVersion)
    let checksumAt = w.bytes.count
    w.u64(0)
    for (i, f) in payload.enumerated() {
        if let lie = h.lengthLie, lie.frame == i { w.u64(lie.length) } else { w.u64(UInt64(f.count)) }
    }
    w.raw(h.extra)
    var header = w.bytes
    if let cut = h.cutTo { header = Array(header.prefix(cut)) }
    if header.count >= checksumAt + 8 {
        var sum = WireChecksum()
        sum.update(header)
        for f in payload { sum.update(f) }
        var value = sum.value
        if h.badChecksum { value ^= 1 << 17 }
        withUnsafeBytes(of: value.littleEndian) { b in
            for i in 0..<8 { header[checksumAt + i] = b[i] }
        }
    }
    return [header] + payload
}

/// What the fuzzer knows of the server it talks to (from Welcome, Acks and stats).
struct ForgeState {
    var parts: [(name: String, shape: [Int])] = []
    var serverVersion: UInt64 = 0
    var lease: Lease?
    var sequence: UInt64 = 0
    var runId: UInt64 = 0x0F0F_F022
    var serverRunId: UInt64 = 0
}

/// A forged message and how it was made.
struct Forged {
    var frames: [[UInt8]]
    /// The mutation applied ("valid" for none), e.g. "header.version" or "gradient.rows_unsorted".
    var mutation: String
    /// The base message before mutation, e.g. "gradient".
    var base: String
    /// Send from an identity that never said hello.
    var stranger = false
}

/// Makes valid cluster messages with `IRNWire`'s layout and mutates them field by field.
struct WireForge {
    var rng: FuzzRNG

    static let bases = ["hello", "heartbeat", "gradient", "weights_request", "stats_request", "lease_request",
                        "lease_complete", "lease_return", "bye", "server_kind"]

    // MARK: valid bodies

    func progressFields(_ p: [ShardProgress]) -> [BodyField] {
        [.u64(UInt64(p.count))] + p.flatMap { [BodyField.u32($0.shard), .u64($0.done), .u64($0.total)] }
    }

    mutating func validGradient(_ s: inout ForgeState) -> GradientSpec {
        s.sequence += 1
        var parts: [PartSpec] = []
        let sparseIndex = rng.chance(0.5) ? rng.int(max(s.parts.count, 1)) : -1
        for (i, p) in s.parts.enumerated() {
            let width = p.shape.dropFirst().reduce(1, *)
            if i == sparseIndex && p.shape[0] > 1 {
                var rows = Set<Int32>()
                for _ in 0..<rng.int(in: 1...min(4, p.shape[0])) { rows.insert(Int32(rng.int(p.shape[0]))) }
                let sorted = rows.sorted()
                parts.append(PartSpec(name: Array(p.name.utf8), sparse: true, shape: p.shape.map { UInt64($0) }, rows: sorted,
                                      values: (0..<(sorted.count * width)).map { _ in rng.float(in: -1e-3...1e-3) }))
            } else {
                let n = p.shape.reduce(1, *)
                parts.append(PartSpec(name: Array(p.name.utf8), sparse: false, shape: p.shape.map { UInt64($0) },
                                      values: (0..<n).map { _ in rng.float(in: -1e-3...1e-3) }))
            }
        }
        let lease = s.lease
        return GradientSpec(sequence: s.sequence, envSteps: UInt64(rng.int(in: 1...64)), leaseId: lease?.leaseId ?? 0,
                            progress: lease?.shards ?? [], stats: [("loss", Double(rng.float(in: 0...3))), ("events", Double(rng.int(in: 1...64)))],
                            bf16: false, valuesAsBF16: false, parts: parts)
    }

    func encode(_ g: GradientSpec) -> (fields: [BodyField], frames: [[UInt8]]) {
        var f: [BodyField] = [.u64(g.sequence), .u64(g.envSteps), .u64(g.leaseId)]
        f += progressFields(g.progress)
        f.append(.u64(UInt64(g.stats.count)))
        for (k, v) in g.stats { f.append(.str(Array(k.utf8))); f.append(.f64(v)) }
        f.append(.u8(g.bf16 ? 1 : 0))
        f.append(.u64(UInt64(g.parts.count)))
        var frames: [[UInt8]] = []
        for p in g.parts {
            f.append(.str(p.name))
            f.append(.u8(p.sparse ? 1 : 0))
            f.append(.u8(p.rankLie ?? UInt8(truncatingIfNeeded: p.shape.count)))
            for d in p.shape { f.append(.u64(d)) }
            if let rows = p.rows {
                f.append(.u64(p.rowCountLie ?? UInt64(rows.count)))
                var w = LEWriter()
                for r in rows { w.u32(UInt32(bitPattern: r)) }
                frames.append(w.bytes)
            }
            var w = LEWriter()
            if let words = p.bf16Words {
                for h in words { w.u16(h) }
            } else if g.valuesAsBF16 {
                for v in p.values { w.u16(BF16.bits(v)) }
            } else {
                for v in p.values { w.u32(v.bitPattern) }
            }
            frames.append(w.bytes)
        }
        return (f, frames)
    }

    /// A valid message of `base` as (header kind, body fields, data frames).
    mutating func valid(_ base: String, _ s: inout ForgeState) -> (kind: UInt16, fields: [BodyField], frames: [[UInt8]], gradient: GradientSpec?) {
        switch base {
        case "hello":
            return (WireKind.hello.rawValue, [.str(Array("fuzz-actor".utf8)), .str(Array("fuzz-host".utf8)), .u32(1), .u64(s.serverRunId)], [], nil)
        case "heartbeat", "lease_complete", "lease_return":
            let kind: WireKind = base == "heartbeat" ? .heartbeat : base == "lease_complete" ? .leaseComplete : .leaseReturn
            return (kind.rawValue, [.u64(s.lease?.leaseId ?? 0)] + progressFields(s.lease?.shards ?? []), [], nil)
        case "gradient":
            let g = validGradient(&s)
            let (f, fr) = encode(g)
            return (WireKind.gradient.rawValue, f, fr, g)
        case "weights_request":
            return (WireKind.weightsRequest.rawValue, [], [], nil)
        case "stats_request":
            return (WireKind.statsRequest.rawValue, [], [], nil)
        case "lease_request":
            return (WireKind.leaseRequest.rawValue, [.u32(UInt32(rng.int(3)))], [], nil)
        case "bye":
            return (WireKind.bye.rawValue, [.u8(0)], [], nil)
        default:
            // A message only the server sends (an actor sending it is refused as unexpected).
            let m: WireMessage = rng.pick([
                .ack(Ack(sequence: 1, status: .applied, weightVersion: 1)), .leaseGrant(LeaseGrant(status: .wait)),
                .statsReply(json: "{}"), .weights(WeightUpdate(fromVersion: 0, toVersion: 1, full: false, parts: [])),
                .targetRefresh(TargetRefresh(targetVersion: 1, weightVersion: 1)),
                .welcome(Welcome(runId: 1, weightVersion: 0, targetVersion: 0, weights: [], target: [])),
            ])
            let frames = WireFormat.encode(m, senderRunId: s.runId)
            let kind = UInt16(frames[0][6]) | UInt16(frames[0][7]) << 8
            return (kind, [.raw(frames[1])], Array(frames.dropFirst(2)), nil)
        }
    }
}
