import CZeroMQ

/// A failed libzmq call: the operation, errno and libzmq's text for it.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let code: Int32

    public init(_ operation: String, code: Int32 = zmq_errno()) {
        self.operation = operation
        self.code = code
    }

    public var message: String { String(cString: zmq_strerror(code)) }
    public var description: String { "zmq \(operation): \(message) (errno \(code))" }

    /// The context was terminated while the call was blocked or pending.
    public var isTerminated: Bool { code == ETERM }
    /// Non-blocking call that could not proceed now.
    public var isAgain: Bool { code == EAGAIN }
    /// Interrupted by a signal; the caller usually just retries.
    public var isInterrupted: Bool { code == EINTR }
}

/// Library version and capabilities.
public enum ZMQ {
    public static var version: (major: Int32, minor: Int32, patch: Int32) {
        var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0
        zmq_version(&a, &b, &c)
        return (a, b, c)
    }

    /// Whether libzmq was built with a capability ("curve", "ipc", ...).
    public static func has(_ capability: String) -> Bool { zmq_has(capability) == 1 }
}
