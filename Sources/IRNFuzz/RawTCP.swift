import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain TCP client connection (IPv4), for bytes no protocol library would send: raw ZMTP
/// handshakes and broken HTTP.
final class RawTCP {
    private var fd: Int32

    enum Failure: Error { case refused(String) }

    /// Connects to host:port (a name or dotted address), or throws `.refused`.
    init(host: String, port: Int, timeout: Double = 2) throws {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { throw Failure.refused("cannot resolve \(host)") }
        defer { freeaddrinfo(res) }
        fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, 0)
        guard fd >= 0 else { throw Failure.refused("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setTimeouts(timeout)
        if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 {
            let e = errno
            close(fd)
            fd = -1
            throw Failure.refused("connect to \(host):\(port): errno \(e)")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    func setTimeouts(_ seconds: Double) {
        var tv = timeval(tv_sec: .init(seconds), tv_usec: .init((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all bytes; false if the peer closed or the send timed out.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// No more bytes from us (the peer reads end of stream).
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    enum ReadEnd { case closed, timedOut, enough }

    /// Reads until the peer closes, the timeout passes, or `enough(bytesSoFar)` says so.
    func read(limit: Int = 1 << 16, enough: ([UInt8]) -> Bool = { _ in false }) -> (bytes: [UInt8], end: ReadEnd) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 8192, 0) }
            if n == 0 { return (out, .closed) }
            if n < 0 {
                if errno == EINTR { continue }
                return (out, errno == EAGAIN || errno == EWOULDBLOCK ? .timedOut : .closed)
            }
            out.append(contentsOf: buf[0..<n])
            if enough(out) { return (out, .enough) }
        }
        return (out, .enough)
    }
}
