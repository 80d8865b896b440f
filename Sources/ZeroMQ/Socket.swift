import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzmq socket. Not thread-safe: use it from one thread at a time (hand it over, don't share).
/// Linger is 0 from the start, so closing it or terminating the context never blocks.
public final class Socket: @unchecked Sendable {
    public let type: SocketType
    let handle: UnsafeMutableRawPointer
    private var closed = false
    // Keeps the context alive as long as a socket exists (zmq_ctx_term would block otherwise).
    private let context: Context

    init(context: Context, type: SocketType) throws {
        guard let h = zmq_socket(context.handle, type.raw) else { throw ZMQError("socket") }
        self.handle = h
        self.type = type
        self.context = context
        try setOption(ZMQ_LINGER, Int32(0))
    }

    deinit { close() }

    /// Closes the socket (idempotent). Pending outgoing messages are dropped (linger 0).
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    // MARK: endpoints

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("connect \(endpoint)") }
    }

    public func disconnect(_ endpoint: String) throws {
        guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError("disconnect \(endpoint)") }
    }

    public func unbind(_ endpoint: String) throws {
        guard zmq_unbind(handle, endpoint) == 0 else { throw ZMQError("unbind \(endpoint)") }
    }

    /// The endpoint last bound (resolves `tcp://127.0.0.1:*` to the real port).
    public var lastEndpoint: String {
        get throws { try stringOption(ZMQ_LAST_ENDPOINT) }
    }

    // MARK: options

    public func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError("setsockopt \(option)")
        }
    }

    public func setOption(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError("setsockopt \(option)")
        }
    }

    public func setOption(_ option: Int32, bytes: [UInt8]) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError("setsockopt \(option)") }
    }

    public func setOption(_ option: Int32, string: String) throws {
        try setOption(option, bytes: Array(string.utf8))
    }

    public func intOption(_ option: Int32) throws -> Int32 {
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option, &v, &size) == 0 else { throw ZMQError("getsockopt \(option)") }
        return v
    }

    public func stringOption(_ option: Int32) throws -> String {
        var buf = [UInt8](repeating: 0, count: 512)
        var size = buf.count
        guard zmq_getsockopt(handle, option, &buf, &size) == 0 else { throw ZMQError("getsockopt \(option)") }
        let end = buf.prefix(size).firstIndex(of: 0) ?? size
        return String(decoding: buf[0..<end], as: UTF8.self)
    }

    /// Milliseconds to keep unsent messages after close (0 by default here; -1 waits forever).
    public func setLinger(_ ms: Int32) throws { try setOption(ZMQ_LINGER, ms) }
    /// Identity of this socket as seen by a ROUTER peer.
    public func setRoutingId(_ id: [UInt8]) throws { try setOption(ZMQ_ROUTING_ID, bytes: id) }
    /// SUB: receive messages starting with `prefix` (empty = everything).
    public func subscribe(_ prefix: [UInt8] = []) throws { try setOption(ZMQ_SUBSCRIBE, bytes: prefix) }
    public func setSendHighWaterMark(_ n: Int32) throws { try setOption(ZMQ_SNDHWM, n) }
    public func setReceiveHighWaterMark(_ n: Int32) throws { try setOption(ZMQ_RCVHWM, n) }
    public func setReceiveTimeout(ms: Int32) throws { try setOption(ZMQ_RCVTIMEO, ms) }
    public func setSendTimeout(ms: Int32) throws { try setOption(ZMQ_SNDTIMEO, ms) }
    /// Largest inbound message accepted by the transport (-1 = no limit); bigger ones drop the peer.
    public func setMaxMessageSize(_ bytes: Int64) throws { try setOption(ZMQ_MAXMSGSIZE, bytes) }
    /// ROUTER: fail with EHOSTUNREACH instead of silently dropping messages to unknown peers.
    public func setRouterMandatory(_ on: Bool) throws { try setOption(ZMQ_ROUTER_MANDATORY, Int32(on ? 1 : 0)) }
    /// ROUTER: a peer reconnecting with a known routing id takes over the old connection.
    public func setRouterHandover(_ on: Bool) throws { try setOption(ZMQ_ROUTER_HANDOVER, Int32(on ? 1 : 0)) }
    /// Queue messages only to completed connections.
    public func setImmediate(_ on: Bool) throws { try setOption(ZMQ_IMMEDIATE, Int32(on ? 1 : 0)) }
    public func setReconnectInterval(ms: Int32, maxMs: Int32 = 0) throws {
        try setOption(ZMQ_RECONNECT_IVL, ms)
        try setOption(ZMQ_RECONNECT_IVL_MAX, maxMs)
    }

    /// ZMTP heartbeats: a PING every `intervalMs`; the connection is dropped if nothing arrives
    /// within `timeoutMs`; `ttlMs` asks the peer to drop us after that long without a PING.
    public func setHeartbeat(intervalMs: Int32, timeoutMs: Int32, ttlMs: Int32? = nil) throws {
        try setOption(ZMQ_HEARTBEAT_IVL, intervalMs)
        try setOption(ZMQ_HEARTBEAT_TIMEOUT, timeoutMs)
        if let t = ttlMs { try setOption(ZMQ_HEARTBEAT_TTL, t) }
    }

    /// CURVE server side: this socket authenticates clients with its secret key (Z85, 40 chars).
    /// Client keys are then checked by a `ZAPHandler` running on the same context.
    public func makeCurveServer(secretKey: String, zapDomain: String = "irn") throws {
        try setOption(ZMQ_ZAP_DOMAIN, string: zapDomain)
        try setOption(ZMQ_CURVE_SERVER, Int32(1))
        try setOption(ZMQ_CURVE_SECRETKEY, string: secretKey)
    }

    /// CURVE client side: our key pair and the server's public key (all Z85).
    public func makeCurveClient(serverPublicKey: String, publicKey: String, secretKey: String) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, string: serverPublicKey)
        try setOption(ZMQ_CURVE_PUBLICKEY, string: publicKey)
        try setOption(ZMQ_CURVE_SECRETKEY, string: secretKey)
    }

    // MARK: messages

    /// Sends all frames as one multipart message. With `dontWait`, returns false instead of
    /// blocking when the message cannot be queued now (peer gone, high-water mark).
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        precondition(!frames.isEmpty, "a message has at least one frame")
        for (i, f) in frames.enumerated() {
            var flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
            if i + 1 < frames.count { flags |= ZMQ_SNDMORE }
            while true {
                let rc = f.count >= Self.zeroCopyBytes ? sendWithoutCopy(f, flags: flags)
                                                       : f.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                let e = ZMQError("send")
                if e.isInterrupted { continue }
                // Only the first frame can fail with EAGAIN (later ones are queued atomically).
                if e.isAgain && i == 0 { return false }
                throw e
            }
        }
        return true
    }

    /// Frames at least this large are handed to libzmq in place (ps-lite style) instead of
    /// being copied into a libzmq buffer first.
    static let zeroCopyBytes = 64 << 10

    /// Lends `frame`'s storage to libzmq: a retained box keeps the (immutable, copy-on-write)
    /// array alive until libzmq's I/O thread has sent it and calls the release function.
    private func sendWithoutCopy(_ frame: [UInt8], flags: Int32) -> Int32 {
        let box = Unmanaged.passRetained(FrameBox(frame))
        var msg = zmq_msg_t()
        let base = box.takeUnretainedValue().bytes.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        let rc0 = zmq_msg_init_data(&msg, base, frame.count, { _, hint in
            Unmanaged<FrameBox>.fromOpaque(hint!).release()
        }, box.toOpaque())
        guard rc0 == 0 else {
            box.release()
            return rc0
        }
        let rc = zmq_msg_send(&msg, handle, flags)
        // On failure the message (and so the box) is still ours to close.
        if rc < 0 {
            let saved = errno
            zmq_msg_close(&msg)
            errno = saved
        }
        return rc
    }

    /// Sends one string frame.
    @discardableResult
    public func send(_ text: String, dontWait: Bool = false) throws -> Bool {
        try send([Array(text.utf8)], dontWait: dontWait)
    }

    /// Receives one multipart message; `nil` if `dontWait` and nothing is there (or on timeout).
    public func receive(dontWait: Bool = false) throws -> [[UInt8]]? {
        try receiveFrames(dontWait: dontWait)?.map(\.bytes)
    }

    /// Receives one multipart message without copying it out of libzmq's buffers; `nil` if
    /// `dontWait` and nothing is there (or on timeout).
    public func receiveFrames(dontWait: Bool = false) throws -> [Frame]? {
        var frames: [Frame] = []
        while true {
            let f = Frame()
            let rc = f.receive(from: handle, flags: (dontWait && frames.isEmpty) ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let e = ZMQError("recv")
                if e.isInterrupted { continue }
                if e.isAgain && frames.isEmpty { return nil }
                throw e
            }
            frames.append(f)
            if !f.hasMore { return frames }
        }
    }

    /// Whether a message can be received now (without blocking).
    public var hasInput: Bool {
        ((try? intOption(ZMQ_EVENTS)) ?? 0) & Int32(ZMQ_POLLIN) != 0
    }
}

/// Owns a frame's bytes while libzmq sends them without copying.
private final class FrameBox {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}
