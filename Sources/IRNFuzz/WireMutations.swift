import IRNNumerics
import IRNWire

extension WireForge {
    /// Mutation families and their shares of the messages (the rest of each family's draw
    /// picks one mutation in it).
    static let families: [(name: String, weight: Int)] = [
        ("valid", 12), ("random", 8), ("header", 20), ("frames", 10), ("fields", 15), ("gradient", 30), ("stranger", 5),
    ]

    /// The next message for the actor port (or, with `statsPort`, for the stats port: mostly
    /// stats requests, with the same mutations).
    mutating func make(_ s: inout ForgeState, statsPort: Bool = false) -> Forged {
        var total = 0
        for f in Self.families { total += f.weight }
        var draw = rng.int(total)
        var family = "valid"
        for f in Self.families {
            if draw < f.weight { family = f.name; break }
            draw -= f.weight
        }
        if statsPort && family == "stranger" { family = "valid" }
        if family == "random" { return randomMessage() }
        var base: String
        if family == "gradient" {
            base = "gradient"
        } else if statsPort {
            base = rng.chance(0.7) ? "stats_request" : rng.pick(Self.bases)
        } else {
            base = rng.pick(Self.bases)
        }
        var (kind, fields, frames, gradient) = valid(base, &s)
        var header = HeaderSpec(kind: kind, runId: s.runId, weightVersion: base == "gradient" ? s.serverVersion : 0)
        var mutation = "valid"
        var stranger = false

        switch family {
        case "stranger":
            if base == "hello" {
                // A stranger that says hello is an actor: keep it a stranger.
                base = "heartbeat"
                (kind, fields, frames, gradient) = valid(base, &s)
                header.kind = kind
            }
            stranger = true
            mutation = "identity.unknown_actor"
            if base == "weights_request" && rng.chance(0.5) {
                header.flags = WireEnvelope.readOnlySubscriberFlag
                mutation = "identity.read_only_subscriber"
            }
        case "header":
            mutation = mutateHeader(&header, s)
        case "frames":
            mutation = "frames"  // applied after sealing below
        case "fields":
            mutation = mutateFields(&fields)
        case "gradient":
            if var g = gradient {
                mutation = mutateGradient(&g, &header, s)
                (fields, frames) = encode(g)
            }
        default:
            break
        }
        var body = LEWriter()
        for f in fields { f.write(&body) }
        var payload = [body.bytes] + frames
        if family == "frames" {
            mutation = mutatePayload(&payload)
        }
        var out = sealFrames(header, payload: payload)
        if family == "frames" && mutation == "frames.drop_after_seal" {
            out.removeLast()
        }
        return Forged(frames: out, mutation: mutation, base: base, stranger: stranger)
    }

    mutating func randomMessage() -> Forged {
        switch rng.int(4) {
        case 0:
            return Forged(frames: (0..<rng.int(in: 1...4)).map { _ in rng.bytes(rng.int(200)) }, mutation: "random.bytes", base: "random")
        case 1:
            // Right magic and version, random rest.
            var h = Array("IRNW".utf8) + [2, 0]
            h += rng.bytes(rng.int(in: 34...120))
            return Forged(frames: [h] + (0..<rng.int(3)).map { _ in rng.bytes(rng.int(64)) }, mutation: "random.after_magic", base: "random")
        case 2:
            return Forged(frames: [[]], mutation: "random.empty_frame", base: "random")
        default:
            return Forged(frames: (0..<rng.int(in: 2...40)).map { _ in [] }, mutation: "random.many_empty_frames", base: "random")
        }
    }

    mutating func mutateHeader(_ h: inout HeaderSpec, _ s: ForgeState) -> String {
        switch rng.int(12) {
        case 0:
            h.version = rng.pick([0, 1, 3, 255, 0xFFFF])
            return "header.version"
        case 1:
            h.kind = rng.pick([0, 16, 99, 0x8000, 0xFFFF])
            return "header.kind_unknown"
        case 2:
            // Another known kind than the body was written for.
            h.kind = UInt16(rng.int(in: 1...15))
            return "header.kind_swapped"
        case 3:
            h.magic = rng.chance(0.5) ? Array("IRNX".utf8) : rng.bytes(4)
            return "header.magic"
        case 4:
            h.flags = UInt32(truncatingIfNeeded: rng.boundary64())
            return "header.flags"
        case 5:
            h.frameCountLie = UInt32(truncatingIfNeeded: rng.pick([0, 2, 3, 4095, 4096, 4097, rng.boundary64()]))
            return "header.frame_count_lie"
        case 6:
            h.lengthLie = (0, rng.boundary64())
            return "header.frame_length_lie"
        case 7:
            h.badChecksum = true
            return "header.checksum"
        case 8:
            h.cutTo = rng.int(48)
            return "header.truncated"
        case 9:
            h.extra = rng.bytes(rng.int(in: 1...16))
            return "header.extra_bytes"
        case 10:
            h.weightVersion = rng.chance(0.5) ? s.serverVersion &+ UInt64(rng.int(in: 1...1000)) : UInt64.max
            return "header.future_version"
        default:
            h.weightVersion = 0
            h.runId = rng.next()
            return "header.stale_version_other_run"
        }
    }

    mutating func mutatePayload(_ p: inout [[UInt8]]) -> String {
        switch rng.int(5) {
        case 0:
            if p.count > 1 { p.removeLast() } else { p[0] = Array(p[0].dropLast()) }
            return "frames.drop_frame"
        case 1:
            p.append(rng.chance(0.5) ? [] : rng.bytes(rng.int(in: 1...64)))
            return "frames.extra_frame"
        case 2:
            let i = rng.int(p.count)
            if !p[i].isEmpty { p[i] = Array(p[i].prefix(rng.int(p[i].count))) } else { p[i] = [0] }
            return "frames.truncated_frame"
        case 3:
            p[0] += rng.bytes(rng.int(in: 1...9))
            return "frames.body_trailing_bytes"
        default:
            return "frames.drop_after_seal"
        }
    }

    mutating func mutateFields(_ f: inout [BodyField]) -> String {
        guard !f.isEmpty else {
            f.append(.u64(rng.boundary64()))
            return "fields.body_where_none"
        }
        let i = rng.int(f.count)
        switch rng.int(6) {
        case 0, 1:
            switch f[i] {
            case .u8: f[i] = .u8(UInt8(truncatingIfNeeded: rng.boundary64()))
            case .u32: f[i] = .u32(UInt32(truncatingIfNeeded: rng.boundary64()))
            case .u64: f[i] = .u64(rng.boundary64())
            case .f64: f[i] = .f64(rng.pick([.nan, .infinity, -.infinity, 1e300, -1e300, .leastNonzeroMagnitude, -0.0]))
            case .str: f[i] = .str(rng.bytes(rng.int(32)))
            case .raw(let b): f[i] = .raw(b.isEmpty ? rng.bytes(8) : Array(b.prefix(rng.int(b.count))))
            }
            return "fields.boundary_value"
        case 2:
            f.remove(at: i)
            return "fields.dropped"
        case 3:
            if let j = f.indices.first(where: { if case .str = f[$0] { return true }; return false }) {
                f[j] = .str(rng.pick([[0xFF, 0xFE], [0xC0, 0x80], [0xED, 0xA0, 0x80], Array(repeating: 0x41, count: 4097),
                                      Array("é🙂\u{0}".utf8)]))
                return "fields.string_bad"
            }
            f.append(.str(rng.bytes(5000)))
            return "fields.string_extra"
        case 4:
            // A string whose length prefix lies.
            if let j = f.indices.first(where: { if case .str = f[$0] { return true }; return false }), case .str(let s) = f[j] {
                var w = LEWriter()
                w.string(s, lengthLie: rng.pick([s.count + 1, s.count + 1000, Int(UInt32.max), max(0, s.count - 1)]))
                f[j] = .raw(w.bytes)
                return "fields.string_length_lie"
            }
            f.insert(.u8(UInt8(truncatingIfNeeded: rng.next())), at: i)
            return "fields.inserted"
        default:
            f.swapAt(i, rng.int(f.count))
            return "fields.swapped"
        }
    }

    mutating func mutateGradient(_ g: inout GradientSpec, _ h: inout HeaderSpec, _ s: ForgeState) -> String {
        guard !g.parts.isEmpty else { return "gradient.no_model" }
        let pi = rng.int(g.parts.count)
        func someValue(_ v: Float) {
            if g.parts[pi].values.isEmpty { g.parts[pi].values = [v] } else { g.parts[pi].values[rng.int(g.parts[pi].values.count)] = v }
        }
        switch rng.int(26) {
        case 0:
            g.parts[pi].name = rng.pick([Array("no_such_part".utf8), [], Array("ē🙂".utf8), g.parts[pi].name + [0x20]])
            return "gradient.part_name_unknown"
        case 1:
            g.parts.append(g.parts[pi])
            return "gradient.part_duplicated"
        case 2:
            g.parts.remove(at: pi)
            return "gradient.part_missing"
        case 3:
            let d = rng.int(g.parts[pi].shape.count)
            g.parts[pi].shape[d] = rng.pick([g.parts[pi].shape[d] + 1, max(1, g.parts[pi].shape[d]) - 1, 0])
            return "gradient.shape_off_by_one"
        case 4:
            let d = rng.int(g.parts[pi].shape.count)
            g.parts[pi].shape[d] = rng.pick([1 << 31, 1 << 40, 1 << 62, UInt64(Int64.max), UInt64.max])
            return "gradient.shape_huge"
        case 5:
            g.parts[pi].shape = rng.chance(0.5) ? [] : Array(repeating: 1, count: rng.int(in: 5...9))
            return "gradient.rank_bad"
        case 6:
            g.parts[pi].rankLie = UInt8(truncatingIfNeeded: g.parts[pi].shape.count + rng.pick([1, -1, 200]))
            return "gradient.rank_lie"
        case 7, 8, 9, 10:
            // Row indices: make the part sparse if it is not, then break the rows.
            let rows0 = Int(min(g.parts[pi].shape.first ?? 1, 1 << 20))
            let width = Int(g.parts[pi].shape.dropFirst().reduce(1, *))
            var rows = g.parts[pi].rows ?? [0]
            let kind = rng.int(4)
            switch kind {
            case 0: rows.append(rng.pick([Int32(rows0), Int32(rows0) + 1, Int32.max, -1, Int32.min]))
            case 1: rows.append(rows.last!)
            case 2: rows = rows.count > 1 ? rows.reversed() : [Int32(min(rows0, 2)) - 1, 0]
            default: rows = [-1]
            }
            g.parts[pi].sparse = true
            g.parts[pi].rows = rows
            g.parts[pi].values = (0..<(rows.count * width)).map { _ in 1e-3 }
            return ["gradient.rows_out_of_range", "gradient.rows_duplicated", "gradient.rows_unsorted", "gradient.rows_negative"][kind]
        case 11:
            if let r = g.parts[pi].rows {
                g.parts[pi].rowCountLie = rng.pick([UInt64(r.count + 1), UInt64(max(r.count, 1) - 1), 1 << 31, UInt64.max])
            } else {
                g.parts[pi].sparse = true  // says sparse, sends no rows frame
            }
            return "gradient.row_count_lie"
        case 12:
            someValue(.nan)
            return "gradient.value_nan"
        case 13:
            someValue(rng.chance(0.5) ? .infinity : -.infinity)
            return "gradient.value_inf"
        case 14:
            someValue(Float(bitPattern: 0x7FC0_0001 | UInt32(truncatingIfNeeded: rng.next()) & 0x003F_FFFF))
            return "gradient.value_nan_payload"
        case 15:
            // Finite but as large as Float32 goes: must not overflow Adam into Inf/NaN.
            let big: Float = rng.pick([.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 3e38, 1e30, 1e18, -1e17])
            for k in g.parts.indices { for j in g.parts[k].values.indices { g.parts[k].values[j] = rng.chance(0.5) ? big : -big } }
            return "gradient.values_huge"
        case 16:
            someValue(rng.pick([.leastNonzeroMagnitude, -.leastNormalMagnitude, 0, -0.0]))
            return "gradient.value_subnormal"
        case 17:
            if rng.chance(0.5) { g.parts[pi].values.append(0) } else if !g.parts[pi].values.isEmpty { g.parts[pi].values.removeLast() }
            return "gradient.value_count"
        case 18:
            g.bf16 = true
            g.valuesAsBF16 = true
            return "gradient.bf16_valid"
        case 19:
            g.bf16 = rng.chance(0.5)
            g.valuesAsBF16 = !g.bf16
            return "gradient.bf16_flag_mismatch"
        case 20:
            g.bf16 = true
            var words = g.parts[pi].values.map(BF16.bits)
            if words.isEmpty { words = [0] }
            words[rng.int(words.count)] = rng.pick([0x7FC0, 0x7F80, 0xFF80, 0x7F81])
            g.parts[pi].bf16Words = words
            return "gradient.bf16_non_finite"
        case 21:
            g.stats.append((rng.pick(["loss", "sessions", "x"]), rng.pick([.nan, .infinity, -.infinity])))
            return "gradient.stat_non_finite"
        case 22:
            if rng.chance(0.5) {
                g.stats.append((rng.pick(["sessions", "events"]), rng.pick([1e300, 1e19, -5, 4.3e9])))
            } else {
                g.envSteps = rng.pick([UInt64.max, UInt64(Int64.max), 1 << 33])
            }
            return "gradient.counts_huge"
        case 23:
            g.stats = (0..<rng.pick([100, 256, 257, 300])).map { ("stat-\($0)-\(rng.next() % 1000)", 1.0) }
            return "gradient.many_stats"
        case 24:
            if rng.chance(0.5) {
                g.progress.append(ShardProgress(shard: UInt32(truncatingIfNeeded: rng.next()), done: 5, total: 3))
            } else {
                g.progress.append(ShardProgress(shard: rng.chance(0.5) ? 999_999 : 0, done: 1, total: 1 << 40))
            }
            return "gradient.progress_bad"
        default:
            g.leaseId = rng.chance(0.5) ? rng.next() : (s.lease?.leaseId ?? 0) &+ 1
            return "gradient.lease_wrong"
        }
    }
}
