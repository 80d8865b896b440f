import CZeroMQ

/// One received message part, still in libzmq's buffer: reading it copies nothing, so a
/// server can check and decode a large gradient straight from where libzmq put it.
public final class Frame: @unchecked Sendable {
    private var message = zmq_msg_t()

    init() { zmq_msg_init(&message) }
    deinit { zmq_msg_close(&message) }

    /// Receives into this frame; the libzmq return code (< 0 on error).
    func receive(from socket: UnsafeMutableRawPointer, flags: Int32) -> Int32 {
        zmq_msg_recv(&message, socket, flags)
    }

    var hasMore: Bool { zmq_msg_more(&message) != 0 }

    public var count: Int { zmq_msg_size(&message) }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let n = zmq_msg_size(&message)
        guard n > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: zmq_msg_data(&message), count: n))
    }

    /// A copy of the bytes (for small frames: identities, headers).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
