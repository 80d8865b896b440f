import Foundation
import XCTest
import IRNAgents
import IRNNumerics
import IRNServer
import IRNSupport
@testable import IRNWire
import ZeroMQ

/// Large frames go out without a copy and come in as frames still in libzmq's buffers; tensor
/// data is checked and copied out of them in one pass.
final class ZeroCopyFrameTests: XCTestCase {
    func testLargeFramesSentInPlaceArriveIntactEvenIfTheSenderMutatesAfterwards() throws {
        let ctx = try Context()
        let router = try ctx.socket(.router)
        try router.bind("tcp://127.0.0.1:*")
        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingId(Array("z".utf8))
        try dealer.connect(try router.lastEndpoint)
        var big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let expected = big
        for _ in 0..<5 { try dealer.send([[1, 2, 3], big, []]) }
        // The sent storage is shared with libzmq until it is on the wire: writing to our copy
        // must not reach what the peer receives.
        big[0] = 99
        big[big.count - 1] = 99
        for _ in 0..<5 {
            XCTAssertEqual(try poll([router], timeoutMs: 5000), [true])
            let frames = try XCTUnwrap(try router.receiveFrames())
            XCTAssertEqual(frames.map(\.count), [1, 3, expected.count, 0])
            XCTAssertEqual(frames[0].bytes, Array("z".utf8))
            XCTAssertEqual(frames[1].bytes, [1, 2, 3])
            XCTAssertEqual(frames[2].bytes, expected)
            XCTAssertEqual(frames[3].bytes, [])
        }
        XCTAssertNil(try router.receiveFrames(dontWait: true))
        // Unsent in-place frames are released when the socket closes (no crash, no hang).
        for _ in 0..<3 { try dealer.send([big], dontWait: true) }
        dealer.close(); router.close()
        ctx.terminate()
    }

    func testFloatFramesRejectEveryNonFiniteLaneAndCopyFiniteOnesExactly() throws {
        let specials: [Float] = [.infinity, -.infinity, .nan, -Float.nan, Float(bitPattern: 0x7FC0_0001)]
        let fine: [Float] = [0, -0.0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 1.5, -3]
        for n in [1, 7, 8, 9, 16, 17, 33] {
            let values = (0..<n).map { fine[$0 % fine.count] }
            let ok = try FloatFrames.floats(FloatFrames.bytes(values), what: "t")
            XCTAssertEqual(ok.map(\.bitPattern), values.map(\.bitPattern), "n \(n)")
            for pos in Set([0, n / 2, n - 1]) {
                for s in specials {
                    var bad = values
                    bad[pos] = s
                    XCTAssertThrowsError(try FloatFrames.floats(FloatFrames.bytes(bad), what: "t"), "n \(n) at \(pos): \(s)") { e in
                        guard case WireError.nonFinite = e else { return XCTFail("\(e)") }
                    }
                }
            }
        }
        XCTAssertThrowsError(try FloatFrames.floats([UInt8](repeating: 0, count: 6), what: "t"))
    }

    /// The server's path (tensors read in place from received frames, Adam straight from them)
    /// gives the same model, bit for bit, as decoding into arrays first; also from frames whose
    /// bytes are not float-aligned (copied then); and a NaN in place is still rejected.
    func testGradientAppliedInPlaceEqualsCopiedOneBitForBit() throws {
        var agent = AgentConfig(algorithm: .irnP, items: 11)
        agent.hidden = 4
        let shape = agent.shape
        let copied = AgentStore(config: agent), inPlace = AgentStore(config: agent), shifted = AgentStore(config: agent)
        var rng = RandomSource(seed: 5)
        for step in 0..<3 {
            var g = NetworkGradient(shape: shape)
            for group in shape.parameterGroups {
                let d = group.dimensions(shape)
                let random = { (n: Int) in (0..<n).map { _ in Float(rng.nextFloat() - 0.5) } }
                g[group] = group == .inputWeights
                    ? GradientTensor(rows: d.rows, width: d.width, rowIndices: [1, Int32(5 + step)], values: random(2 * d.width))
                    : GradientTensor(rows: d.rows, width: d.width, layout: .dense, rowIndices: [], values: random(d.rows * d.width))
            }
            let frames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 3, parts: g.wireParts)), senderRunId: 1)
            let a = try copied.apply(try gradientParts(WireFormat.decode(frames)))
            let (_, views) = try WireFormat.decodeBorrowingTensors(frames)
            let b = try inPlace.apply(views: views)
            let odd = frames.map(OddOffsetFrame.init)
            let (_, oddViews) = try WireFormat.decodeBorrowingTensors(odd)
            let c = try shifted.apply(views: oddViews)
            XCTAssertEqual(a, b)
            XCTAssertEqual(a, c)
            XCTAssertEqual(a["lstm.input_weights"], .rows([1, Int32(5 + step)]))
        }
        XCTAssertEqual(copied.parameters, inPlace.parameters)
        XCTAssertEqual(copied.parameters, shifted.parameters)
        XCTAssertEqual(copied.version, 3)
        XCTAssertEqual(inPlace.version, 3)
        XCTAssertNotEqual(copied.parameters, agent.initialParameters())

        var bad = NetworkGradient(shape: shape)
        let d = ParameterGroup.policyWeights.dimensions(shape)
        var values = [Float](repeating: 0.1, count: d.rows * d.width)
        values[d.rows * d.width - 1] = .nan
        bad[.policyWeights] = GradientTensor(rows: d.rows, width: d.width, layout: .dense, rowIndices: [], values: values)
        let frames = WireFormat.encode(.gradient(GradientPush(sequence: 1, envSteps: 3, parts: bad.wireParts)), senderRunId: 1)
        XCTAssertThrowsError(try WireFormat.decodeBorrowingTensors(frames)) { e in
            guard case WireError.nonFinite = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try WireFormat.decodeBorrowingTensors(frames.map(OddOffsetFrame.init)))
    }

    /// Parts handed to the store directly (not through the decoder) are checked too: Adam
    /// writes the rows they list.
    func testStoreRefusesRowsOutOfRangeOrUnsorted() throws {
        var agent = AgentConfig(algorithm: .irnP, items: 11)
        agent.hidden = 4
        let store = AgentStore(config: agent)
        let shape = agent.shape
        var base = NetworkGradient(shape: shape).wireParts
        let i = try XCTUnwrap(base.firstIndex { $0.name == ParameterGroup.inputWeights.name })
        let w = ParameterGroup.inputWeights.dimensions(shape).width
        for rows: [Int32] in [[11], [3, 2], [-1]] {
            base[i] = .rowSparse(base[i].name, shape: base[i].shape, rows: rows, values: [Float](repeating: 1, count: rows.count * w))
            XCTAssertThrowsError(try store.apply(base), "rows \(rows)")
        }
        XCTAssertEqual(store.version, 0)
        XCTAssertEqual(store.parameters, agent.initialParameters())
    }

    private func gradientParts(_ env: WireEnvelope) throws -> [TensorPart] {
        guard case .gradient(let g) = env.message else { throw IRNError("not a gradient") }
        return g.parts
    }
}

/// A frame whose bytes start one byte into their storage, so floats in it are misaligned.
private struct OddOffsetFrame: WireFrame {
    let storage: [UInt8]
    let count: Int
    init(_ bytes: [UInt8]) { storage = [0] + bytes; count = bytes.count }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[1..<(1 + count)])) }
    }
}
