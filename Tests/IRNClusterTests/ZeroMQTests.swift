import Foundation
import XCTest
import ZeroMQ

/// Real sockets on loopback / inproc.
final class ZeroMQTests: XCTestCase {
    func testRouterDealerMultipartRoundTrip() throws {
        let ctx = try Context()
        let router = try ctx.socket(.router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"))
        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingId(Array("actor-1".utf8))
        try dealer.connect(endpoint)
        let big = (0..<100_000).map { UInt8($0 & 0xFF) }
        try dealer.send([Array("hello".utf8), [], big])
        XCTAssertEqual(try poll([router], timeoutMs: 30_000), [true])
        let msg = try XCTUnwrap(try router.receive())
        XCTAssertEqual(msg.count, 4)
        XCTAssertEqual(String(decoding: msg[0], as: UTF8.self), "actor-1")
        XCTAssertEqual(msg[1], Array("hello".utf8))
        XCTAssertEqual(msg[2], [])
        XCTAssertEqual(msg[3], big)
        try router.send([msg[0], Array("back".utf8)])
        try dealer.setReceiveTimeout(ms: 30_000)
        XCTAssertEqual(try dealer.receive(), [Array("back".utf8)])
        XCTAssertNil(try dealer.receive(dontWait: true))
        router.close(); dealer.close()
    }

    func testPubSubAndTerminateDoesNotHangWithUnsentMessages() throws {
        let ctx = try Context()
        let pub = try ctx.socket(.pub)
        try pub.bind("tcp://127.0.0.1:*")
        let sub = try ctx.socket(.sub)
        try sub.subscribe()
        try sub.connect(try pub.lastEndpoint)
        // Slow joiner: publish until the subscriber sees something.
        var got: [[UInt8]]?
        for _ in 0..<1500 where got == nil {  // up to 30 s on a loaded machine
            try pub.send([[1, 2, 3]])
            if try poll([sub], timeoutMs: 20)[0] { got = try sub.receive(dontWait: true) }
        }
        XCTAssertEqual(got, [[1, 2, 3]])
        // A dealer with queued messages to nowhere: with linger 0 nothing waits at termination.
        let dealer = try ctx.socket(.dealer)
        try dealer.connect("tcp://127.0.0.1:1")
        for _ in 0..<10 { try dealer.send([[UInt8](repeating: 7, count: 1000)], dontWait: true) }
        let t0 = Date()
        pub.close(); sub.close(); dealer.close()
        ctx.terminate()
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5.0)  // (default linger: forever)
    }

    func testStreamSocketServesHTTP() throws {
        let ctx = try Context()
        let stream = try ctx.socket(.stream)
        try stream.bind("tcp://127.0.0.1:*")
        let port = Int(try stream.lastEndpoint.split(separator: ":").last!)!
        let client = Thread {
            // A plain TCP client (not zmq): the way curl or Prometheus would talk to us.
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { return }
            let req = "GET /metrics HTTP/1.0\r\n\r\n"
            _ = req.withCString { write(fd, $0, strlen($0)) }
            var buf = [UInt8](repeating: 0, count: 4096)
            var all: [UInt8] = []
            while true {
                let n = read(fd, &buf, buf.count)
                if n <= 0 { break }
                all += buf[0..<n]
                // Like curl: stop after Content-Length bytes of body.
                if String(decoding: all, as: UTF8.self).hasSuffix("\r\n\r\nok") { break }
            }
            close(fd)
            try? String(decoding: all, as: UTF8.self).write(toFile: NSTemporaryDirectory() + "/zmq-stream-\(getpid()).txt", atomically: true, encoding: .utf8)
        }
        client.start()
        var request = ""
        var peer: [UInt8] = []
        let deadline = Date().addingTimeInterval(30)
        while !request.contains("\r\n\r\n") && Date() < deadline {
            guard try poll([stream], timeoutMs: 100)[0], let m = try stream.receive(dontWait: true) else { continue }
            peer = m[0]
            request += String(decoding: m[1], as: UTF8.self)  // empty frame = connect notification
        }
        XCTAssertTrue(request.hasPrefix("GET /metrics"))
        try stream.send([peer, Array("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)])
        try stream.send([peer, []])  // closes the connection
        let path = NSTemporaryDirectory() + "/zmq-stream-\(getpid()).txt"
        var answer = ""
        try? waitUntil(30, "the client's answer file") {
            if let s = try? String(contentsOfFile: path, encoding: .utf8) { answer = s }
            return !answer.isEmpty
        }
        XCTAssertTrue(answer.hasSuffix("\r\n\r\nok"), answer)
        try? FileManager.default.removeItem(atPath: path)
    }

    func testCurveKeysAndZAPRefusal() throws {
        try XCTSkipUnless(ZMQ.has("curve"), "libzmq without CURVE")
        let server = try CurveKeyPair.generate()
        let good = try CurveKeyPair.generate()
        let bad = try CurveKeyPair.generate()
        XCTAssertEqual(server.publicKey.count, 40)
        XCTAssertEqual(try CurveKeyPair(secretKey: good.secretKey), good)
        XCTAssertTrue(Curve.isValidKey(good.publicKey))
        XCTAssertFalse(Curve.isValidKey("short"))
        XCTAssertEqual(Curve.encodeZ85(Curve.decodeZ85(good.publicKey)!), good.publicKey)

        let ctx = try Context()
        let zap = try ZAPHandler(context: ctx, allowedKeys: [good.publicKey])
        defer { zap.stop() }
        let router = try ctx.socket(.router)
        try router.makeCurveServer(secretKey: server.secretKey)
        try router.bind("tcp://127.0.0.1:*")
        let ep = try router.lastEndpoint

        // Waits a loaded machine cannot exceed: an accepted key until its message arrives, a
        // refused one until the ZAP handler has counted the refusal (the socket stays open
        // until then, so the handshake is not cut short), then briefly for a message.
        func attempt(_ keys: CurveKeyPair, refusalsBefore: Int? = nil) throws -> Bool {
            let d = try ctx.socket(.dealer)
            defer { d.close() }
            try d.makeCurveClient(serverPublicKey: server.publicKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
            try d.connect(ep)
            try d.send([Array("hi".utf8)])
            if let n = refusalsBefore {
                try waitUntil(30, "the ZAP refusal") { zap.counts.refused > n }
                guard try poll([router], timeoutMs: 500)[0] else { return false }
            } else {
                guard try poll([router], timeoutMs: 30_000)[0] else { return false }
            }
            return try router.receive() != nil
        }
        XCTAssertTrue(try attempt(good))
        XCTAssertFalse(try attempt(bad, refusalsBefore: zap.counts.refused))
        let counts = zap.counts
        XCTAssertEqual(counts.accepted, 1)
        XCTAssertGreaterThanOrEqual(counts.refused, 1)
        XCTAssertEqual(counts.lastRefusedKeys.last, bad.publicKey)
        router.close()
    }

    func testErrorsAreSwiftErrors() throws {
        let ctx = try Context()
        let s = try ctx.socket(.rep)
        XCTAssertThrowsError(try s.connect("nonsense://x")) { e in
            XCTAssertTrue("\(e)".contains("connect nonsense://x"), "\(e)")
        }
        XCTAssertThrowsError(try s.send([[1]])) // REP must receive first: EFSM
    }
}
