import XCTest
import IRNActor
import IRNAgents
import IRNNumerics
import IRNSupport
@testable import IRNWire

/// Push compression (`--push-windows`, `--push-precision bf16`, `--push-rows`): windows summed
/// exactly, bf16 on the wire, the largest rows only, and error feedback that loses nothing over time.
final class PushCompressionTests: XCTestCase {
    /// One window's parts: a dense tensor with values across many magnitudes and a row-sparse one.
    static func window(_ rng: inout RandomSource) -> [TensorPart] {
        let dense = (0..<64).map { i in (rng.nextFloat() - 0.5) * Float(pow(10.0, Double(i % 9) - 6)) }
        var rows: [Int32] = []
        for r in 0..<20 where rng.nextInt(below: 3) == 0 { rows.append(Int32(r)) }
        let sparse = (0..<(rows.count * 4)).map { _ in rng.nextFloat() - 0.5 }
        return [.dense("policy.weight", shape: [16, 4], values: dense),
                .rowSparse("embedding", shape: [20, 4], rows: rows, values: sparse)]
    }

    static func dense(_ p: TensorPart) -> [Double] { p.densified().values.map(Double.init) }

    /// Adds a part, densified, into `sums[part.name]`.
    static func accumulate(_ sums: inout [String: [Double]], _ p: TensorPart) {
        sums[p.name] = zip(sums[p.name] ?? Array(repeating: 0, count: p.denseCount), dense(p)).map(+)
    }

    /// Error feedback's invariant: what was sent plus what the accumulator still holds equals
    /// what was computed, part by part, within Float32 rounding of the largest sum.
    static func assertSentPlusResidualIsComputed(_ acc: PushAccumulator, sent: [String: [Double]], computed: [String: [Double]],
                                                 _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
        for (name, c) in computed {
            let r = acc.residual(name)!.map(Double.init)
            let scale = c.map(abs).max()!
            for i in c.indices {
                XCTAssertEqual(sent[name]![i] + r[i], c[i], accuracy: 1e-5 * scale, "\(label) \(name)[\(i)]", file: file, line: line)
            }
        }
    }

    func testBF16RoundsToNearestAndStaysFinite() {
        XCTAssertEqual(BF16.rounded(1), 1)
        XCTAssertEqual(BF16.rounded(1 + 1.0 / 512), 1)  // a tie: to even
        XCTAssertEqual(BF16.rounded(1 + 3.0 / 512), 1 + 4.0 / 512)  // a tie: to even (up)
        XCTAssertEqual(BF16.rounded(-2.5e-3), BF16.float(BF16.bits(-2.5e-3)))
        XCTAssertTrue(BF16.rounded(.greatestFiniteMagnitude).isFinite)
        XCTAssertTrue(BF16.rounded(.nan).isNaN)
        var rng = RandomSource(seed: 3)
        for _ in 0..<10_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xBFFF_FFFF)  // finite
            let q = BF16.rounded(x)
            XCTAssertEqual(BF16.rounded(q), q)  // representable values are fixed points
            XCTAssertLessThanOrEqual(abs(Double(q) - Double(x)), abs(Double(x)) / 256 + 1e-38)
        }
    }

    /// The sum of everything sent over the wire plus the residual left at the actor equals the
    /// sum of every window's gradient: error feedback delays what bf16 cannot carry, never drops it.
    func testErrorFeedbackKeepsTheSum() throws {
        var rng = RandomSource(seed: 11)
        var acc = PushAccumulator()
        var computed: [String: [Double]] = [:], sent: [String: [Double]] = [:]
        for push in 0..<7 {
            for _ in 0..<(1 + push % 3) {
                let w = Self.window(&rng)
                acc.add(w)
                for p in w { Self.accumulate(&computed, p) }
            }
            let parts = acc.take(precision: .bf16).parts
            // Through the real wire: what the server sees.
            let frames = WireFormat.encode(.gradient(GradientPush(sequence: UInt64(push), envSteps: 3, parts: parts, bf16: true)), senderRunId: 1)
            XCTAssertLessThan(frames.dropFirst(2).reduce(0) { $0 + $1.count },
                              parts.reduce(0) { $0 + $1.values.count * 3 + ($1.rows?.count ?? 0) * 4 }, "bf16 values take 2 bytes")
            guard case .gradient(let g) = try WireFormat.decode(frames).message else { return XCTFail("not a gradient") }
            XCTAssertEqual(g.parts, parts, "rounded values cross the wire exactly")
            for p in g.parts { Self.accumulate(&sent, p) }
        }
        Self.assertSentPlusResidualIsComputed(acc, sent: sent, computed: computed)
        for (name, c) in computed {
            // The residual is small: at most one rounding step of what was sent.
            XCTAssertLessThanOrEqual(acc.residual(name)!.map { abs(Double($0)) }.max()!, c.map(abs).max()! / 16, name)
        }
    }

    /// fp32: the push is the exact sum of its windows and nothing is left behind; a window's
    /// sparse rows stay sparse (only rows some window touched travel).
    func testFP32PushIsTheSumOfItsWindows() {
        var rng = RandomSource(seed: 5)
        let a = Self.window(&rng), b = Self.window(&rng)
        var acc = PushAccumulator()
        acc.add(a); acc.add(b)
        XCTAssertEqual(acc.windows, 2)
        let parts = acc.take(precision: .fp32).parts
        XCTAssertEqual(acc.windows, 0)
        for (k, p) in parts.enumerated() {
            let want = zip(Self.dense(a[k]), Self.dense(b[k])).map { Float(Float($0) + Float($1)) }
            XCTAssertEqual(p.densified().values, want, p.name)
            XCTAssertTrue(acc.residual(p.name)!.allSatisfy { $0 == 0 }, p.name)
        }
        let touched = Set((a[1].rows ?? []) + (b[1].rows ?? []))
        XCTAssertEqual(parts[1].rows, touched.sorted())
        XCTAssertEqual(acc.take(precision: .fp32).parts[1].rows, [], "an empty push after everything was taken")
    }

    /// `--push-rows`: each matrix travels as its largest rows only (dense ones become
    /// row-sparse), the unsent rows stay whole in the residual and compete again, and over
    /// many pushes sent + residual = computed (fp32 and bf16), through the real wire.
    func testRowBudgetKeepsTheSumAndSendsTheLargestRows() throws {
        for precision in [PushPrecision.fp32, .bf16] {
            var rng = RandomSource(seed: 17)
            var acc = PushAccumulator()
            acc.squareRatios = true
            var computed: [String: [Double]] = [:], sent: [String: [Double]] = [:]
            var touchedSince: [String: [Int32]] = [:]
            var squaresSince: [String: [Double]] = ["policy.weight": Array(repeating: 0, count: 16), "embedding": Array(repeating: 0, count: 20)]
            for push in 0..<12 {
                let before = acc.residual("policy.weight")
                let beforeEmbedding = acc.residual("embedding") ?? Array(repeating: 0, count: 80)
                let w = Self.window(&rng)
                acc.add(w)
                for p in w { Self.accumulate(&computed, p) }
                // The sum the budget chooses from: the residual plus this window.
                let pending = zip(before ?? Array(repeating: 0, count: 64), w[0].values).map { $0 + $1 }
                let taken = acc.take(precision: precision, rowFraction: 0.25)
                let parts = taken.parts
                XCTAssertEqual(parts.map(\.name), ["policy.weight", "embedding"])
                let policy = parts[0], embedding = parts[1]
                XCTAssertEqual(policy.rows?.count, 4, "ceil(0.25 x 16) rows of the dense matrix")
                XCTAssertLessThanOrEqual(embedding.rows?.count ?? 99, 5, "ceil(0.25 x 20) rows at most")
                // The chosen rows of the dense matrix are the 4 of largest norm.
                let norms = (0..<16).map { r in (r, (0..<4).reduce(Float(0)) { $0 + pending[r * 4 + $1] * pending[r * 4 + $1] }) }
                let want = norms.sorted { $0.1 > $1.1 }.prefix(4).map { Int32($0.0) }.sorted()
                XCTAssertEqual(policy.rows, want, "push \(push)")
                // Each sent row's step count: the pushes since it was last sent in which a window
                // touched it (every push, for the dense matrix).
                touchedSince["embedding", default: Array(repeating: 0, count: 20)] = zip(touchedSince["embedding"] ?? Array(repeating: 0, count: 20), 0..<20)
                    .map { n, r in n + (w[1].rows!.contains(Int32(r)) ? 1 : 0) }
                touchedSince["policy.weight", default: Array(repeating: 0, count: 16)] = (touchedSince["policy.weight"] ?? Array(repeating: 0, count: 16)).map { $0 + 1 }
                // Square ratios: k x (sum over the row's pushes of its squared norm) / |waiting sum|^2.
                for p in w {
                    let d = Self.dense(p)
                    for r in 0..<p.shape[0] { squaresSince[p.name]![r] += (0..<4).reduce(0.0) { $0 + d[r * 4 + $1] * d[r * 4 + $1] } }
                }
                let waiting = ["policy.weight": pending.map(Double.init),
                               "embedding": zip(beforeEmbedding, Self.dense(w[1])).map { Double($0) + $1 }]
                for p in parts {
                    XCTAssertEqual(taken.rowSteps[p.name], p.rows!.map { touchedSince[p.name]![Int($0)] }, "push \(push) \(p.name)")
                    let ratios = try XCTUnwrap(taken.rowSquareRatios[p.name])
                    for (i, r) in p.rows!.enumerated() {
                        let k = Double(touchedSince[p.name]![Int(r)])
                        let norm = (0..<4).reduce(0.0) { $0 + waiting[p.name]![Int(r) * 4 + $1] * waiting[p.name]![Int(r) * 4 + $1] }
                        let want = k > 1 ? max(1, k * squaresSince[p.name]![Int(r)] / norm) : 1
                        XCTAssertEqual(Double(ratios[i]), want, accuracy: 1e-4 * want, "push \(push) \(p.name) row \(r)")
                        touchedSince[p.name]![Int(r)] = 0
                        squaresSince[p.name]![Int(r)] = 0
                    }
                }
                let frames = WireFormat.encode(.gradient(GradientPush(sequence: UInt64(push), envSteps: 3, parts: parts, bf16: precision == .bf16,
                                                                      rowSteps: taken.rowSteps, rowSquareRatios: taken.rowSquareRatios)), senderRunId: 1)
                guard case .gradient(let g) = try WireFormat.decode(frames).message else { return XCTFail("not a gradient") }
                XCTAssertEqual(g.parts, parts)
                XCTAssertEqual(g.rowSteps, taken.rowSteps)
                XCTAssertEqual(g.rowSquareRatios, taken.rowSquareRatios)
                // The server reads them from the views it applies.
                let views = try WireFormat.decodeBorrowingTensors(frames).tensors
                XCTAssertEqual(views.map(\.rowSteps), parts.map { taken.rowSteps[$0.name] })
                XCTAssertEqual(views.map(\.rowSquareRatios), parts.map { taken.rowSquareRatios[$0.name] })
                for p in g.parts { Self.accumulate(&sent, p) }
            }
            Self.assertSentPlusResidualIsComputed(acc, sent: sent, computed: computed, "\(precision)")
            // Unsent rows really wait: the residual holds whole rows, not rounding errors only.
            XCTAssertGreaterThan(acc.residual("policy.weight")!.map(abs).max()!, 1e-3, "\(precision)")
        }
    }

    /// A fraction of 1 is the old push exactly (every touched row, dense parts dense).
    /// --push-rows-warmup: whole pushes at update 0, the budget from the warm-up's end on, and
    /// in between the same factor per update (geometric), for both shares.
    func testRowBudgetWarmupTightensGeometrically() throws {
        var s = ClusterSettings(algo: "irn-p", agent: nil)
        s.pushRows = 0.01
        s.pushRowsOther = 0.25
        s.pushRowsScope = "items"
        XCTAssertEqual(s.pushRowShares(atVersion: 0).rows, 0.01, "no warm-up: the budget from the first push")
        s.pushRowsWarmup = 100
        XCTAssertEqual(s.pushRowShares(atVersion: 0).rows, 1)
        XCTAssertEqual(s.pushRowShares(atVersion: 0).other, 1)
        XCTAssertEqual(s.pushRowShares(atVersion: 50).rows, 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.pushRowShares(atVersion: 50).other, 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.pushRowShares(atVersion: 25).rows / s.pushRowShares(atVersion: 26).rows,
                       s.pushRowShares(atVersion: 80).rows / s.pushRowShares(atVersion: 81).rows, accuracy: 1e-9)
        XCTAssertEqual(s.pushRowShares(atVersion: 100).rows, 0.01)
        XCTAssertEqual(s.pushRowShares(atVersion: 100_000).other, 0.25)
        // The setting travels in the welcome; older servers' settings mean no warm-up.
        XCTAssertEqual(try ClusterSettings.parse(s.json()).pushRowsWarmup, 100)
        XCTAssertEqual(try ClusterSettings.parse(#"{"algo":"irn-p"}"#).pushRowsWarmup, 0)
    }

    func testRowBudgetOfOneChangesNothing() {
        var rng = RandomSource(seed: 23)
        var a = PushAccumulator(), b = PushAccumulator()
        for _ in 0..<3 {
            let w = Self.window(&rng)
            a.add(w); b.add(w)
            let pa = a.take(precision: .bf16), pb = b.take(precision: .bf16, rowFraction: 1)
            XCTAssertEqual(pa, pb)
            XCTAssertEqual(pb.rowSteps, [:], "no step counts without a budget")
        }
    }

    /// `--push-rows-scope items`: matrices with fewer rows than the item count travel whole
    /// (dense, every value, no step counts); the item-indexed ones keep their budget.
    func testRowBudgetScopeLeavesSmallMatricesWhole() {
        var rng = RandomSource(seed: 29)
        var acc = PushAccumulator()
        let w = Self.window(&rng)  // policy.weight: 16 rows (dense), embedding: 20 rows (sparse)
        acc.add(w)
        let taken = acc.take(precision: .fp32, rowFraction: 0.25, minRows: 20)
        XCTAssertEqual(taken.parts[0], w[0], "16 < 20 rows: the dense matrix travels as it was computed")
        XCTAssertEqual(taken.parts[1].rows?.count, min(5, w[1].rows!.count), "20 rows: budgeted")
        XCTAssertEqual(Array(taken.rowSteps.keys), ["embedding"])
        // --push-rows-other 0.5: the small matrix is budgeted too, at its own share.
        var other = PushAccumulator()
        other.add(w)
        let both = other.take(precision: .fp32, rowFraction: 0.25, minRows: 20, otherFraction: 0.5)
        XCTAssertEqual(both.parts[0].rows?.count, 8, "ceil(0.5 x 16) rows of the small dense matrix")
        XCTAssertEqual(both.parts[1].rows?.count, min(5, w[1].rows!.count), "the item matrix keeps its 0.25")
        XCTAssertEqual(Set(both.rowSteps.keys), ["embedding", "policy.weight"])
    }

    /// `--push-rows-rank`: with a budget of one row, a large and a small steady gradient. By
    /// norm the large row wins every push and the small one waits (here all 10 pushes); scaled
    /// by each row's usual size, the small row goes out every other push, with the steps it
    /// waited.
    func testScaledRankDoesNotStarveSmallRows() {
        for rank in PushAccumulator.RowRank.allCases {
            var acc = PushAccumulator()
            acc.rank = rank
            var sentSmall: [Int32] = []
            for _ in 0..<10 {
                acc.add([.dense("w", shape: [4, 2], values: [10, 10, 0.1, -0.1, 0, 0, 0, 0])])
                let taken = acc.take(precision: .fp32, rowFraction: 0.25)
                XCTAssertEqual(taken.parts[0].rows?.count, 1)
                if taken.parts[0].rows == [1] { sentSmall.append(taken.rowSteps["w"]![0]) }
            }
            switch rank {
            case .norm: XCTAssertEqual(sentSmall, [], "by norm the small row never goes out in 10 pushes")
            case .scaled: XCTAssertEqual(sentSmall, [2, 2, 2, 2, 2], "scaled: every other push, 2 steps each")
            }
        }
    }

    /// Step counts must match their part's rows and lie in 1...maxRowSteps.
    func testRowStepDecoderChecks() throws {
        let part = TensorPart.rowSparse("w", shape: [8, 2], rows: [1, 5], values: [1, 2, 3, 4])
        let kind = WireKind.gradient.rawValue
        for (counts, ok) in [([Int32(1), 40], true), ([0, 3], false), ([2], false), ([1, WireLimits.maxRowSteps + 1], false)] {
            var frames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 3, parts: [part], rowSteps: ["w": [1, 1]])), senderRunId: 1)
            frames[frames.count - 1] = FloatFrames.bytes(counts)
            let sealed = WireFormat.seal(kind: kind, flags: 0, runId: 1, weightVersion: 0, payload: Array(frames.dropFirst()))
            if ok {
                let (_, views) = try WireFormat.decodeBorrowingTensors(sealed)
                XCTAssertEqual(views[0].rowSteps, counts)
            } else {
                XCTAssertThrowsError(try WireFormat.decode(sealed), "\(counts)") { XCTAssertEqual(($0 as? WireError)?.label, "tensor") }
            }
        }
    }

    /// Square ratios: one per row, each in 1...maxRowSquareRatio and finite, only with step counts.
    func testRowSquareRatioDecoderChecks() throws {
        let part = TensorPart.rowSparse("w", shape: [8, 2], rows: [1, 5], values: [1, 2, 3, 4])
        let kind = WireKind.gradient.rawValue
        for (ratios, ok) in [([Float(1), 26], true), ([0.5, 2], false), ([2], false), ([1, .nan], false), ([1, 1e13], false)] {
            var frames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 3, parts: [part], rowSteps: ["w": [1, 3]],
                                                                  rowSquareRatios: ["w": [1, 1]])), senderRunId: 1)
            frames[frames.count - 1] = FloatFrames.bytes(ratios)
            let sealed = WireFormat.seal(kind: kind, flags: 0, runId: 1, weightVersion: 0, payload: Array(frames.dropFirst()))
            if ok {
                let (_, views) = try WireFormat.decodeBorrowingTensors(sealed)
                XCTAssertEqual(views[0].rowSquareRatios, ratios)
                XCTAssertEqual(views[0].rowSteps, [1, 3])
            } else {
                XCTAssertThrowsError(try WireFormat.decode(sealed), "\(ratios)") {
                    XCTAssertTrue(["tensor", "non_finite"].contains(($0 as? WireError)?.label ?? ""), "\($0)")
                }
            }
        }
        // Ratios without step counts are not a message the encoder writes: refused.
        let noSteps = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 3, parts: [part], rowSquareRatios: ["w": [1, 1]])), senderRunId: 1)
        guard case .gradient(let g) = try WireFormat.decode(noSteps).message else { return XCTFail("not a gradient") }
        XCTAssertEqual(g.rowSquareRatios, [:], "without step counts no ratios are sent")
    }

    /// The decoder's checks hold for bf16 values: non-finite values and odd byte counts are refused.
    func testBF16DecoderChecks() throws {
        let part = TensorPart.dense("w", shape: [4], values: [1, 2, 3, 4])
        let frames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 3, parts: [part], bf16: true)), senderRunId: 1)
        XCTAssertEqual(frames.last!.count, 8)
        var nan = Array(frames.dropFirst())
        nan[nan.count - 1][2] = 0xC0; nan[nan.count - 1][3] = 0x7F
        let kind = WireKind.gradient.rawValue
        XCTAssertThrowsError(try WireFormat.decode(WireFormat.seal(kind: kind, flags: 0, runId: 1, weightVersion: 0, payload: nan))) {
            XCTAssertEqual(($0 as? WireError)?.label, "non_finite")
        }
        var odd = Array(frames.dropFirst())
        odd[odd.count - 1].removeLast()
        XCTAssertThrowsError(try WireFormat.decodeBorrowingTensors(WireFormat.seal(kind: kind, flags: 0, runId: 1, weightVersion: 0, payload: odd))) {
            XCTAssertEqual(($0 as? WireError)?.label, "tensor")
        }
        let (env, views) = try WireFormat.decodeBorrowingTensors(frames)
        guard case .gradient(let g) = env.message else { return XCTFail("not a gradient") }
        XCTAssertTrue(g.bf16)
        XCTAssertEqual(views.count, 1)
    }
}
