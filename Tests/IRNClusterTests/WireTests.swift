import Foundation
import XCTest
import IRNNumerics
import IRNSupport
@testable import IRNWire

final class WireTests: XCTestCase {
    static func sampleParts(_ rng: inout RandomSource) -> [TensorPart] {
        let dense = (0..<12).map { _ in rng.nextFloat() - 0.5 }
        let rows: [Int32] = [1, 4, 9]
        let sparse = (0..<6).map { _ in rng.nextFloat() }
        return [.dense("policy.b", shape: [3, 4], values: dense),
                .rowSparse("lstm.wx", shape: [10, 2], rows: rows, values: sparse),
                .dense("empty", shape: [0], values: [])]
    }

    static func allMessages() -> [WireMessage] {
        var rng = RandomSource(seed: 1)
        let parts = sampleParts(&rng)
        let prog = [ShardProgress(shard: 3, done: 5, total: 9), ShardProgress(shard: 7, done: 0, total: 2)]
        let lease = Lease(leaseId: 42, epoch: 2, shards: prog)
        return [
            .hello(Hello(actorId: "a-1", host: "node7", threads: 4, knownRunId: 99)),
            .welcome(Welcome(runId: 5, weightVersion: 17, targetVersion: 3, weights: parts, target: Array(parts.prefix(1)),
                             settingsJSON: #"{"algo":"irn-p"}"#, lease: lease)),
            .welcome(Welcome(runId: 5, weightVersion: 0, targetVersion: 0, weights: [], target: [])),
            .gradient(GradientPush(sequence: 8, envSteps: 384, leaseId: 42, progress: prog,
                                   stats: ["loss": 1.5, "reward": -0.25], parts: parts)),
            // bfloat16 values (already rounded by the sender, as PushAccumulator does).
            .gradient(GradientPush(sequence: 9, envSteps: 768, leaseId: 42, progress: prog, stats: ["events": 700],
                                   parts: parts.map { TensorPart(name: $0.name, shape: $0.shape, rows: $0.rows, values: $0.values.map(BF16.rounded)) },
                                   bf16: true)),
            .ack(Ack(sequence: 8, status: .stale, weightVersion: 20)),
            .weights(WeightUpdate(fromVersion: 3, toVersion: 4, full: false, parts: parts)),
            // A bf16 patch (`--broadcast-precision bf16`): values rounded by the server.
            .weights(WeightUpdate(fromVersion: 4, toVersion: 6, full: false,
                                  parts: parts.map { TensorPart(name: $0.name, shape: $0.shape, rows: $0.rows, values: $0.values.map(BF16.rounded)) },
                                  bf16: true)),
            .weightsRequest,
            .targetRefresh(TargetRefresh(targetVersion: 2, weightVersion: 40)),
            .leaseRequest(maxShards: 2),
            .leaseGrant(LeaseGrant(status: .granted, lease: lease)),
            .leaseGrant(LeaseGrant(status: .finished)),
            .leaseReturn(leaseId: 42, progress: prog),
            .leaseComplete(leaseId: 42, progress: prog),
            .heartbeat(leaseId: 0, progress: []),
            .statsRequest,
            .statsReply(json: #"{"step": 3}"#),
            .bye(.leaving),
        ]
    }

    func testEveryKindRoundTrips() throws {
        let messages = Self.allMessages()
        XCTAssertEqual(Set(messages.map(\.kind)), Set(WireKind.allCases))
        for m in messages {
            let frames = WireFormat.encode(m, senderRunId: 0xABCD, weightVersion: 77, flags: 5)
            let env = try WireFormat.decode(frames)
            XCTAssertEqual(env.message, m)
            XCTAssertEqual(env.senderRunId, 0xABCD)
            XCTAssertEqual(env.weightVersion, 77)
            XCTAssertEqual(env.flags, 5)
        }
    }

    func testSparsePartsTravelSparse() throws {
        let rows: [Int32] = [5, 900]
        let p = TensorPart.rowSparse("emb", shape: [10_000, 64], rows: rows, values: [Float](repeating: 1, count: 128))
        let frames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 1, parts: [p])), senderRunId: 1)
        let total = frames.reduce(0) { $0 + $1.count }
        XCTAssertLessThan(total, 128 * 4 + 2 * 4 + 300)  // not 10_000 x 64 floats
        XCTAssertEqual(p.densified().values[900 * 64], 1)
        XCTAssertEqual(p.densified().values[899 * 64], 0)
    }

    private func assertRejected(_ frames: [[UInt8]], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try WireFormat.decode(frames)
            XCTFail("accepted a bad message (expected \(label))", file: file, line: line)
        } catch {
            XCTAssertEqual(error.label, label, "\(error)", file: file, line: line)
        }
    }

    func testSpecificDefectsGiveTypedErrors() {
        let good = WireFormat.encode(.ack(Ack(sequence: 1, status: .applied, weightVersion: 2)), senderRunId: 1)
        assertRejected([], "framing")
        assertRejected([[1, 2, 3]], "framing")
        var magic = good; magic[0][0] ^= 0xFF
        assertRejected(magic, "magic")
        let v2 = WireFormat.seal(kind: WireKind.ack.rawValue, flags: 0, runId: 1, weightVersion: 0, payload: [good[1]], version: 3)
        assertRejected(v2, "version")
        // A version-1 peer (no precision byte in gradients) is refused, not misread.
        assertRejected(WireFormat.seal(kind: WireKind.ack.rawValue, flags: 0, runId: 1, weightVersion: 0, payload: [good[1]], version: 1), "version")
        let k = WireFormat.seal(kind: 999, flags: 0, runId: 1, weightVersion: 0, payload: [good[1]])
        assertRejected(k, "kind")
        assertRejected(good + [[1]], "framing")
        var flipped = good; flipped[1][0] ^= 1
        assertRejected(flipped, "checksum")
        var hdr = good; hdr[0][20] ^= 1  // run id byte
        assertRejected(hdr, "checksum")
        var lenLie = good; lenLie[1].append(0)
        assertRejected(lenLie, "framing")
        // Sealed (valid checksum) but the body is short / long.
        assertRejected(WireFormat.seal(kind: WireKind.ack.rawValue, flags: 0, runId: 1, weightVersion: 0, payload: [Array(good[1].dropLast())]), "malformed")
        assertRejected(WireFormat.seal(kind: WireKind.ack.rawValue, flags: 0, runId: 1, weightVersion: 0, payload: [good[1] + [0]]), "malformed")
        // NaN and Inf in a tensor.
        for bad in [Float.nan, Float.infinity, -Float.infinity] {
            let m = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 1, parts: [.dense("w", shape: [3], values: [0, bad, 1])])), senderRunId: 1)
            assertRejected(m, "non_finite")
        }
        let nanStat = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 1, stats: ["loss": .nan], parts: [])), senderRunId: 1)
        assertRejected(nanStat, "non_finite")
        // Rows out of order, out of range, size mismatch.
        for p in [TensorPart.rowSparse("e", shape: [4, 1], rows: [2, 1], values: [1, 1]),
                  TensorPart.rowSparse("e", shape: [4, 1], rows: [4], values: [1]),
                  TensorPart.rowSparse("e", shape: [4, 2], rows: [1], values: [1]),
                  TensorPart.dense("d", shape: [2, 2], values: [1, 2, 3])] {
            assertRejected(WireFormat.encode(.weights(WeightUpdate(fromVersion: 0, toVersion: 1, full: true, parts: [p])), senderRunId: 1), "tensor")
        }
        // Over the size limit.
        let big = WireFormat.encode(.statsReply(json: String(repeating: "x", count: 1000)), senderRunId: 1)
        XCTAssertThrowsError(try WireFormat.decode(big, maxBytes: 500)) { XCTAssertEqual(($0 as! WireError).label, "oversized") }
    }

    /// For each tensor frame of `m` (the payload frames after the body), in order: whether it
    /// holds row indices (else float values).
    static func tensorFramesHoldRows(_ m: WireMessage) -> [Bool] {
        parts(of: m).flatMap { $0.rows == nil ? [false] : [true, false] }
    }

    /// The tensors of `m`, in the order their frames travel.
    static func parts(of m: WireMessage) -> [TensorPart] {
        switch m {
        case .welcome(let w): return w.weights + w.target
        case .gradient(let g): return g.parts
        case .weights(let u): return u.parts
        case .targetRefresh(let t): return t.parts
        default: return []
        }
    }

    /// The error a single flipped bit in byte `b` of a valid header gives (`header` is the
    /// header after the flip): the decoder checks magic, version, kind, frame count, frame
    /// lengths, then the checksum (which covers the flags, run id, weight version).
    static func labelForHeaderFlip(at b: Int, header: [UInt8]) -> String {
        switch b {
        case 0..<4: return "magic"
        case 4..<6: return "version"
        case 6..<8: return WireKind(rawValue: UInt16(header[6]) | UInt16(header[7]) << 8) == nil ? "kind" : "checksum"
        case 12..<16: return "malformed"  // the header's size no longer fits its frame count
        case 8..<40: return "checksum"
        default: return "framing"  // a frame length
        }
    }

    /// What decoding a mutated message must give.
    enum FuzzExpectation {
        /// The mutation left the message as it was: decodes to the original.
        case unchanged
        case rejected(String)
        /// A re-sealed body or tensor frame with random bytes: either a message that survives
        /// every check, or one of the body's errors.
        case bodyDefect
    }

    /// Thousands of random, truncated, oversized, wrong-version, bit-flipped and NaN messages.
    /// Each mutation knows what the decoder must say: the original message back, or a
    /// rejection with the label of the check that catches it. Whatever is accepted re-encodes
    /// to the very bytes received and carries no non-finite float.
    func testFuzzGivesTheRightVerdict() {
        var rng = RandomSource(seed: 2024)
        let messages = Self.allMessages()
        let seeds = messages.map { WireFormat.encode($0, senderRunId: 3, weightVersion: 4) }
        for (m, frames) in zip(messages, seeds) {
            XCTAssertEqual(Self.tensorFramesHoldRows(m).count, frames.count - 2, "\(m.kind)")
        }
        var labels: [String: Int] = [:]
        var accepted = 0, unchanged = 0
        func check(_ frames: [[UInt8]], original: Int, expected: FuzzExpectation, _ what: String) {
            let env: WireEnvelope
            do {
                env = try WireFormat.decode(frames, maxBytes: 1 << 20)
            } catch {
                labels[error.label, default: 0] += 1
                switch expected {
                case .unchanged:
                    XCTFail("\(what): rejected an intact \(messages[original].kind) (\(error))")
                case .rejected(let label):
                    XCTAssertEqual(error.label, label, "\(what): \(error)")
                case .bodyDefect:
                    // range: a corrupted gradient value of magnitude >= 2^60.
                    XCTAssert(["malformed", "tensor", "non_finite", "range"].contains(error.label), "\(what): \(error)")
                }
                return
            }
            accepted += 1
            switch expected {
            case .unchanged:
                unchanged += 1
                XCTAssertEqual(env.message, messages[original], what)
            case .rejected(let label):
                XCTFail("\(what): accepted a \(env.message.kind), expected \(label)")
            case .bodyDefect:
                break
            }
            XCTAssertEqual(env.senderRunId, 3, what)
            XCTAssertEqual(env.weightVersion, 4, what)
            XCTAssert(WireFormat.encode(env) == frames, "\(what): does not re-encode to the bytes received")
            for p in Self.parts(of: env.message) {
                XCTAssertTrue(p.values.allSatisfy(\.isFinite), "\(what): \(p.name) has a non-finite value")
            }
        }
        func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        for i in 0..<6000 {
            let original = rng.nextInt(below: seeds.count)
            var frames = seeds[original]
            var expected = FuzzExpectation.unchanged
            let what: String
            switch i % 8 {
            case 0:  // pure noise
                what = "noise"
                frames = (0..<(1 + rng.nextInt(below: 4))).map { _ in randomBytes(rng.nextInt(below: 120)) }
                expected = .rejected(frames[0].count < WireFormat.fixedHeaderBytes ? "framing" : "magic")
            case 1:  // truncate a frame
                let f = rng.nextInt(below: frames.count)
                let keep = rng.nextInt(below: frames[f].count + 1)
                what = "frame \(f) cut to \(keep) of \(frames[f].count) bytes"
                if keep < frames[f].count {
                    // A header too short to read, one too short for its frame lengths, a frame
                    // shorter than its length in the header.
                    expected = .rejected(f == 0 && keep >= WireFormat.fixedHeaderBytes ? "malformed" : "framing")
                }
                frames[f] = Array(frames[f].prefix(keep))
            case 2:  // drop or add frames
                if rng.nextInt(below: 2) == 0, frames.count > 1 { frames.removeLast() } else { frames.append(randomBytes(8)) }
                what = "\(frames.count) frames instead of \(seeds[original].count)"
                expected = .rejected("framing")
            case 3:  // flip a bit anywhere: the first check it breaks must say so
                let f = rng.nextInt(below: frames.count)
                what = "bit flipped in frame \(f)"
                if !frames[f].isEmpty {
                    let b = rng.nextInt(below: frames[f].count)
                    frames[f][b] ^= UInt8(1 << rng.nextInt(below: 8))
                    expected = .rejected(f == 0 ? Self.labelForHeaderFlip(at: b, header: frames[0]) : "checksum")
                }
            case 4, 5:  // corrupt the payload but re-seal it: reaches the body parser
                var payload = Array(frames.dropFirst())
                let f = rng.nextInt(below: payload.count)
                what = "payload frame \(f) corrupted and re-sealed"
                if !payload[f].isEmpty {
                    for _ in 0..<(1 + rng.nextInt(below: 4)) {
                        payload[f][rng.nextInt(below: payload[f].count)] = UInt8(truncatingIfNeeded: rng.next())
                    }
                }
                if rng.nextInt(below: 3) == 0 { payload[f] = Array(payload[f].prefix(rng.nextInt(below: payload[f].count + 1))) }
                let kind = UInt16(frames[0][6]) | UInt16(frames[0][7]) << 8
                frames = WireFormat.seal(kind: kind, flags: 0, runId: 3, weightVersion: 4, payload: payload)
                expected = frames == seeds[original] ? .unchanged : .bodyDefect
            case 6:  // wrong version or oversized
                let kind = UInt16(frames[0][6]) | UInt16(frames[0][7]) << 8
                if rng.nextInt(below: 2) == 0 {
                    let version = UInt16(WireFormat.version + 1 + UInt16(rng.nextInt(below: 100)))
                    what = "version \(version)"
                    frames = WireFormat.seal(kind: kind, flags: 0, runId: 3, weightVersion: 4,
                                             payload: Array(frames.dropFirst()), version: version)
                    expected = .rejected("version")
                } else {
                    what = "1 MiB frame added"
                    frames = WireFormat.seal(kind: kind, flags: 0, runId: 3, weightVersion: 4,
                                             payload: Array(frames.dropFirst()) + [[UInt8](repeating: 0, count: 1 << 20)])
                    expected = .rejected("oversized")
                }
            default:  // NaN / Inf written into a tensor frame, re-sealed
                var payload = Array(frames.dropFirst())
                what = "non-finite float written into a tensor frame of a \(messages[original].kind)"
                if payload.count > 1 {
                    let f = 1 + rng.nextInt(below: payload.count - 1)
                    if payload[f].count >= 4 {
                        let at = rng.nextInt(below: payload[f].count / 4) * 4
                        let bits = [Float.nan, .infinity, -.infinity, .signalingNaN][rng.nextInt(below: 4)].bitPattern
                        for k in 0..<4 { payload[f][at + k] = UInt8((bits >> (8 * UInt32(k))) & 0xFF) }
                        // As a row index the pattern is out of range; as a value, not finite.
                        expected = .rejected(Self.tensorFramesHoldRows(messages[original])[f - 1] ? "tensor" : "non_finite")
                    }
                }
                let kind = UInt16(frames[0][6]) | UInt16(frames[0][7]) << 8
                frames = WireFormat.seal(kind: kind, flags: 0, runId: 3, weightVersion: 4, payload: payload)
            }
            check(frames, original: original, expected: expected, "mutation \(i) (\(what))")
        }
        // Every check of the decoder was reached, and some mutations left a valid message.
        for label in ["framing", "magic", "version", "kind", "oversized", "checksum", "malformed", "tensor", "non_finite"] {
            XCTAssertGreaterThan(labels[label, default: 0], 0, "no rejection labelled \(label): \(labels)")
        }
        XCTAssertGreaterThan(unchanged, 0)
        XCTAssertGreaterThan(accepted, unchanged)
    }

    func testChecksumSeesEveryBitFlipAndWordSwap() {
        var rng = RandomSource(seed: 5)
        let base = (0..<203).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        func sum(_ b: [UInt8]) -> UInt64 { var c = WireChecksum(); c.update(b); return c.value }
        let ref = sum(base)
        for i in 0..<base.count {
            for bit in 0..<8 {
                var b = base
                b[i] ^= UInt8(1 << bit)
                XCTAssertNotEqual(sum(b), ref, "flip at byte \(i) bit \(bit)")
            }
        }
        // Swapping two 8-byte words (same lane, or different lanes) is noticed too.
        for (a, b) in [(0, 32), (0, 8), (40, 168)] {
            var x = base
            for k in 0..<8 { x.swapAt(a + k, b + k) }
            XCTAssertNotEqual(sum(x), ref)
        }
        XCTAssertNotEqual(sum(Array(base.dropLast())), ref)
    }
}
