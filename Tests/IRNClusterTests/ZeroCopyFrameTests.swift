import Foundation
import XCTest
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
}
