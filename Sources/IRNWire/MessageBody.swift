import IRNNumerics

// The body of each message kind (frame 1 and the data frames after it): `BodyEncoder` writes
// it, `BodyDecoder` reads and checks it. The header around it is `WireFormat`'s.

struct BodyEncoder {
    var writer = WireBytesWriter()
    var frames: [[UInt8]] = []

    mutating func progress(_ p: [ShardProgress]) {
        writer.u64(UInt64(p.count))
        for s in p { writer.u32(s.shard); writer.u64(s.done); writer.u64(s.total) }
    }

    mutating func lease(_ l: Lease?) {
        guard let l else { writer.u8(0); return }
        writer.u8(1)
        writer.u64(l.leaseId)
        writer.u32(l.epoch)
        progress(l.shards)
    }

    mutating func parts(_ parts: [TensorPart], bf16: Bool = false) {
        writer.u64(UInt64(parts.count))
        for p in parts {
            writer.string(p.name)
            writer.u8(p.isSparse ? 1 : 0)
            writer.u8(UInt8(clamping: p.shape.count))
            for d in p.shape { writer.u64(UInt64(d)) }
            if let rows = p.rows {
                writer.u64(UInt64(rows.count))
                frames.append(FloatFrames.bytes(rows))
            }
            frames.append(bf16 ? FloatFrames.bf16Bytes(p.values) : FloatFrames.bytes(p.values))
        }
    }

    mutating func encode(_ m: WireMessage) {
        switch m {
        case .hello(let h):
            writer.string(h.actorId); writer.string(h.host); writer.u32(h.threads); writer.u64(h.knownRunId)
        case .welcome(let w):
            writer.u64(w.runId); writer.u64(w.weightVersion); writer.u64(w.targetVersion)
            writer.string(w.settingsJSON)
            lease(w.lease)
            parts(w.weights); parts(w.target)
        case .gradient(let g):
            writer.u64(g.sequence); writer.u64(g.envSteps); writer.u64(g.leaseId)
            progress(g.progress)
            writer.u64(UInt64(g.stats.count))
            for k in g.stats.keys.sorted() { writer.string(k); writer.f64(g.stats[k]!) }
            // One flags byte: bit 0 bf16 values, bit 1 a step-count frame per row-sparse part,
            // bit 2 (with bit 1) a square-ratio frame per row-sparse part after those.
            let withSteps = !g.rowSteps.isEmpty, withRatios = withSteps && !g.rowSquareRatios.isEmpty
            writer.u8((g.bf16 ? 1 : 0) | (withSteps ? 2 : 0) | (withRatios ? 4 : 0))
            parts(g.parts, bf16: g.bf16)
            if withSteps {
                for p in g.parts {
                    guard let rows = p.rows else { continue }
                    frames.append(FloatFrames.bytes(g.rowSteps[p.name] ?? [Int32](repeating: 1, count: rows.count)))
                }
            }
            if withRatios {
                for p in g.parts {
                    guard let rows = p.rows else { continue }
                    frames.append(FloatFrames.bytes(g.rowSquareRatios[p.name] ?? [Float](repeating: 1, count: rows.count)))
                }
            }
        case .ack(let a):
            writer.u64(a.sequence); writer.u8(a.status.rawValue); writer.u64(a.weightVersion); writer.u64(a.targetVersion)
        case .weights(let u):
            // One flags byte: bit 0 full weights, bit 1 bf16 values.
            writer.u64(u.fromVersion); writer.u64(u.toVersion); writer.u8((u.full ? 1 : 0) | (u.bf16 ? 2 : 0))
            parts(u.parts, bf16: u.bf16)
        case .weightsRequest, .statsRequest:
            break
        case .targetRefresh(let t):
            writer.u64(t.targetVersion); writer.u64(t.weightVersion)
            parts(t.parts)
        case .leaseRequest(let n):
            writer.u32(n)
        case .leaseGrant(let g):
            writer.u8(g.status.rawValue)
            lease(g.lease)
        case .leaseReturn(let id, let p), .leaseComplete(let id, let p), .heartbeat(let id, let p):
            writer.u64(id)
            progress(p)
        case .statsReply(let json):
            writer.string(json)
        case .bye(let r):
            writer.u8(r.rawValue)
        }
    }
}

struct BodyDecoder<F: WireFrame> {
    var reader: WireBytesReader
    var frames: [F]
    var nextFrame = 0
    /// Tensor values stay in their frames: parts go to `views` instead of the message.
    var borrow = false
    var views: [TensorPartView] = []

    mutating func frame(_ what: String) throws(WireError) -> F {
        guard nextFrame < frames.count else { throw .malformed("missing data frame for \(what)") }
        defer { nextFrame += 1 }
        return frames[nextFrame]
    }

    func finish() throws(WireError) {
        try reader.finish()
        guard nextFrame == frames.count else {
            throw .malformed("\(frames.count - nextFrame) unused data frames")
        }
    }

    /// A gradient part's step counts: one per row, each in 1...maxRowSteps.
    mutating func rowStepFrame(_ name: String, rows n: Int) throws(WireError) -> [Int32] {
        let counts = try FloatFrames.int32s(try frame("\(name) row steps"), what: name)
        guard counts.count == n else { throw .badTensor("\(name): \(counts.count) step counts for \(n) rows") }
        guard counts.allSatisfy({ (1...WireLimits.maxRowSteps).contains($0) }) else {
            throw .badTensor("\(name): a row step count outside 1...\(WireLimits.maxRowSteps)")
        }
        return counts
    }

    /// Name, row count and (when borrowing) view index of each row-sparse part, in part order:
    /// the parts that per-row frames (step counts, square ratios) follow.
    func sparseParts(_ parts: [TensorPart]) -> [(name: String, rows: Int, view: Int?)] {
        borrow ? views.indices.compactMap { i in views[i].rows.map { (views[i].name, $0.count, i) } }
            : parts.compactMap { p in p.rows.map { (p.name, $0.count, nil) } }
    }

    /// A gradient part's square ratios: one per row, each finite in 1...maxRowSquareRatio.
    mutating func rowSquareRatioFrame(_ name: String, rows n: Int) throws(WireError) -> [Float] {
        let ratios = try FloatFrames.floats(try frame("\(name) row square ratios"), what: name)
        guard ratios.count == n else { throw .badTensor("\(name): \(ratios.count) square ratios for \(n) rows") }
        guard ratios.allSatisfy({ $0 >= 1 && $0 <= WireLimits.maxRowSquareRatio }) else {
            throw .badTensor("\(name): a row square ratio outside 1...\(WireLimits.maxRowSquareRatio)")
        }
        return ratios
    }

    mutating func progress() throws(WireError) -> [ShardProgress] {
        let n = try reader.count("progress count", max: min(WireLimits.maxListEntries, reader.remaining / 20))
        var out: [ShardProgress] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            let s = ShardProgress(shard: try reader.u32("shard"), done: try reader.u64("done"), total: try reader.u64("total"))
            guard s.done <= s.total else { throw .malformed("shard \(s.shard): done \(s.done) > total \(s.total)") }
            out.append(s)
        }
        return out
    }

    mutating func lease() throws(WireError) -> Lease? {
        guard try reader.bool("has lease") else { return nil }
        return Lease(leaseId: try reader.u64("lease id"), epoch: try reader.u32("epoch"), shards: try progress())
    }

    mutating func parts(bf16: Bool = false, limit: FloatFrames.ValueLimit = .finite) throws(WireError) -> [TensorPart] {
        let n = try reader.count("part count", max: WireLimits.maxParts)
        var out: [TensorPart] = []
        for _ in 0..<n {
            let name = try reader.string("part name")
            let sparse = try reader.bool("sparse flag")
            let rank = Int(try reader.u8("rank"))
            guard (1...WireLimits.maxRank).contains(rank) else { throw .badTensor("\(name): rank \(rank)") }
            var shape: [Int] = []
            for _ in 0..<rank {
                shape.append(try reader.count("dimension", max: WireLimits.maxElements))
            }
            var rows: [Int32]? = nil
            if sparse {
                let nr = try reader.count("row count", max: WireLimits.maxElements)
                let r = try FloatFrames.int32s(try frame("\(name) rows"), what: name)
                guard r.count == nr else { throw .badTensor("\(name): \(r.count) row indices, body says \(nr)") }
                rows = r
            }
            if bf16 {
                // Widened to Float32 here (the server keeps Float32 masters); checked as below.
                let values = try FloatFrames.bf16Floats(try frame("\(name) values"), what: name, limit: limit)
                if borrow {
                    let view = TensorPartView(name: name, shape: shape, rows: rows, storage: .owned(values))
                    try view.validate()
                    views.append(view)
                } else {
                    let part = TensorPart(name: name, shape: shape, rows: rows, values: values)
                    try part.validate()
                    out.append(part)
                }
                continue
            }
            if borrow {
                let storage = try FloatFrames.view(try frame("\(name) values"), what: name, limit: limit)
                let view = TensorPartView(name: name, shape: shape, rows: rows, storage: storage)
                try view.validate()
                views.append(view)
                continue
            }
            let values = try FloatFrames.floats(try frame("\(name) values"), what: name, limit: limit)
            let part = TensorPart(name: name, shape: shape, rows: rows, values: values)
            try part.validate()
            out.append(part)
        }
        return out
    }

    mutating func decode(_ kind: WireKind) throws(WireError) -> WireMessage {
        switch kind {
        case .hello:
            return .hello(Hello(actorId: try reader.string("actor id"), host: try reader.string("host"),
                                threads: try reader.u32("threads"), knownRunId: try reader.u64("known run id")))
        case .welcome:
            let runId = try reader.u64("run id"), wv = try reader.u64("weight version"), tv = try reader.u64("target version")
            let settings = try reader.string("settings", max: WireLimits.maxJSONBytes)
            let l = try lease()
            let weights = try parts()
            let target = try parts()
            return .welcome(Welcome(runId: runId, weightVersion: wv, targetVersion: tv, weights: weights,
                                    target: target, settingsJSON: settings, lease: l))
        case .gradient:
            let seq = try reader.u64("sequence"), steps = try reader.u64("env steps"), lid = try reader.u64("lease id")
            let p = try progress()
            let ns = try reader.count("stats count", max: 256)
            var stats: [String: Double] = [:]
            for _ in 0..<ns {
                let k = try reader.string("stat name")
                stats[k] = try reader.f64(k)
            }
            let flags = try reader.u8("gradient flags")
            guard flags & ~7 == 0, flags & 6 != 4 else { throw .malformed("gradient flags \(flags)") }
            let bf16 = flags & 1 != 0
            let parts = try parts(bf16: bf16, limit: .gradient)
            var rowSteps: [String: [Int32]] = [:]
            var rowSquareRatios: [String: [Float]] = [:]
            // In part order, one frame per row-sparse part for each kind of per-row values.
            let sparse = sparseParts(parts)
            if flags & 2 != 0 {
                for sp in sparse {
                    let counts = try rowStepFrame(sp.name, rows: sp.rows)
                    rowSteps[sp.name] = counts
                    if let i = sp.view { views[i].rowSteps = counts }
                }
            }
            if flags & 4 != 0 {
                for sp in sparse {
                    let ratios = try rowSquareRatioFrame(sp.name, rows: sp.rows)
                    rowSquareRatios[sp.name] = ratios
                    if let i = sp.view { views[i].rowSquareRatios = ratios }
                }
            }
            return .gradient(GradientPush(sequence: seq, envSteps: steps, leaseId: lid, progress: p, stats: stats,
                                          parts: parts, bf16: bf16, rowSteps: rowSteps, rowSquareRatios: rowSquareRatios))
        case .ack:
            let seq = try reader.u64("sequence")
            let raw = try reader.u8("status")
            guard let st = AckStatus(rawValue: raw) else { throw .malformed("ack status \(raw)") }
            return .ack(Ack(sequence: seq, status: st, weightVersion: try reader.u64("weight version"),
                            targetVersion: try reader.u64("target version")))
        case .weights:
            let from = try reader.u64("from version"), to = try reader.u64("to version")
            let flags = try reader.u8("weights flags")
            guard flags & ~3 == 0 else { throw .malformed("weights flags \(flags)") }
            let bf16 = flags & 2 != 0
            return .weights(WeightUpdate(fromVersion: from, toVersion: to, full: flags & 1 != 0, parts: try parts(bf16: bf16), bf16: bf16))
        case .weightsRequest:
            return .weightsRequest
        case .targetRefresh:
            let tv = try reader.u64("target version"), wv = try reader.u64("weight version")
            return .targetRefresh(TargetRefresh(targetVersion: tv, weightVersion: wv, parts: try parts()))
        case .leaseRequest:
            return .leaseRequest(maxShards: try reader.u32("max shards"))
        case .leaseGrant:
            let raw = try reader.u8("lease status")
            guard let st = LeaseStatus(rawValue: raw) else { throw .malformed("lease status \(raw)") }
            let l = try lease()
            guard (st == .granted) == (l != nil) else { throw .malformed("lease status \(st) with\(l == nil ? "out" : "") a lease") }
            return .leaseGrant(LeaseGrant(status: st, lease: l))
        case .leaseReturn:
            return .leaseReturn(leaseId: try reader.u64("lease id"), progress: try progress())
        case .leaseComplete:
            return .leaseComplete(leaseId: try reader.u64("lease id"), progress: try progress())
        case .heartbeat:
            return .heartbeat(leaseId: try reader.u64("lease id"), progress: try progress())
        case .statsRequest:
            return .statsRequest
        case .statsReply:
            return .statsReply(json: try reader.string("json", max: WireLimits.maxJSONBytes))
        case .bye:
            let raw = try reader.u8("reason")
            guard let r = ByeReason(rawValue: raw) else { throw .malformed("bye reason \(raw)") }
            return .bye(r)
        }
    }
}
