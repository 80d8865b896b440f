import XCTest
import IRNSupport
@testable import IRNNumerics

final class ParallelTests: XCTestCase {
    func testChunksCoverTheRangeOnceEach() {
        for count in [0, 1, 7, 64, 1000, 1001] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { h in
                let p = h.baseAddress!
                Parallel.chunks(count, minChunk: 10) { _, range in for i in range { p[i] += 1 } }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: count))
        }
    }

    /// Many rows (split over threads when there are several) give exactly the numbers of
    /// the same rows computed one at a time.
    func testCellKernelsDoNotDependOnChunking() {
        let H = 16, rows = 300, G = 4 * H
        var rng = RandomSource(seed: 4)
        let wx = (0..<(5 * G)).map { _ in rng.nextFloat() - 0.5 }
        let bias = (0..<G).map { _ in rng.nextFloat() - 0.5 }
        let items = (0..<rows).map { Int32($0 % 6) - 1 }
        let gates0 = (0..<(rows * G)).map { _ in 2 * rng.nextFloat() - 1 }
        let cPrev = (0..<(rows * H)).map { _ in rng.nextFloat() - 0.5 }
        let dh = (0..<(rows * H)).map { _ in rng.nextFloat() - 0.5 }
        let dc0 = (0..<(rows * H)).map { _ in rng.nextFloat() - 0.5 }
        func buffer(_ a: [Float]) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: a.count)
            p.initialize(from: a, count: a.count)
            return p
        }
        func run(oneByOne: Bool) -> [Float] {
            let g = buffer(gates0), cp = buffer(cPrev), d = buffer(dh), dc = buffer(dc0)
            let c = buffer([Float](repeating: 0, count: rows * H)), t = buffer([Float](repeating: 0, count: rows * H))
            let h = buffer([Float](repeating: 0, count: rows * H)), dg = buffer([Float](repeating: 0, count: rows * G))
            let it = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
            it.initialize(from: items, count: rows)
            defer { for p in [g, cp, d, dc, c, t, h, dg] { p.deallocate() }; it.deallocate() }
            wx.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    let step = oneByOne ? 1 : rows
                    for r0 in stride(from: 0, to: rows, by: step) {
                        let n = min(step, rows - r0)
                        LSTMKernels.forwardCells(rows: n, hidden: H, items: it + r0, inputWeights: w.baseAddress!, bias: b.baseAddress!,
                                                 gates: g + r0 * G, cPrev: cp + r0 * H, c: c + r0 * H, tanhC: t + r0 * H, h: h + r0 * H)
                        LSTMKernels.backwardCells(rows: n, hidden: H, gates: g + r0 * G, cPrev: cp + r0 * H, tanhC: t + r0 * H,
                                                  dh: d + r0 * H, dc: dc + r0 * H, dGates: dg + r0 * G)
                    }
                }
            }
            return Array(UnsafeBufferPointer(start: g, count: rows * G)) + Array(UnsafeBufferPointer(start: c, count: rows * H))
                + Array(UnsafeBufferPointer(start: h, count: rows * H)) + Array(UnsafeBufferPointer(start: dc, count: rows * H))
                + Array(UnsafeBufferPointer(start: dg, count: rows * G))
        }
        XCTAssertEqual(run(oneByOne: false), run(oneByOne: true))
    }
}
