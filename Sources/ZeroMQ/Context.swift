import CZeroMQ

/// A libzmq context (thread-safe). Sockets made from it default to linger 0, so terminating
/// the context never waits for unsent messages: the hang-at-exit the anchors suffer from.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private var terminated = false

    public init(ioThreads: Int32 = 1) throws {
        guard let h = zmq_ctx_new() else { throw ZMQError("ctx_new") }
        handle = h
        if ioThreads != 1 { zmq_ctx_set(h, ZMQ_IO_THREADS, ioThreads) }
    }

    /// A new socket of `type`. The socket must be used by one thread at a time.
    public func socket(_ type: SocketType) throws -> Socket {
        try Socket(context: self, type: type)
    }

    /// Makes blocked calls on every socket fail with ETERM and waits for them to be closed.
    /// Close all sockets first (or from their threads); call once.
    public func terminate() {
        guard !terminated else { return }
        terminated = true
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// Makes blocked calls fail with ETERM without waiting (use from another thread to stop loops).
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit { terminate() }
}
