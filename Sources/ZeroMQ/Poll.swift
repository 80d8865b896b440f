import CZeroMQ

/// Waits until one of `sockets` has input, or `timeoutMs` passes (-1 = forever).
/// Returns, for each socket, whether it is readable. EINTR counts as a timeout.
public func poll(_ sockets: [Socket], timeoutMs: Int) throws -> [Bool] {
    var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    let rc = zmq_poll(&items, Int32(items.count), timeoutMs)
    if rc < 0 {
        let e = ZMQError("poll")
        if e.isInterrupted { return Array(repeating: false, count: sockets.count) }
        throw e
    }
    return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
}
