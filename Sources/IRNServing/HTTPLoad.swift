import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 keep-alive client over a blocking TCP socket: the benchmark's own load
/// generator and the tests' raw client (it sends exactly the bytes it is given, so tests can
/// also send malformed requests). Not a general client: responses need Content-Length.
public final class RawHTTPConnection {
    private var fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var pending: [UInt8] = []

    public init(host: String = "127.0.0.1", port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoadError("socket() failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw LoadError("cannot connect to \(host):\(port)") }
    }

    deinit { close(fd) }

    /// The socket, for callers that multiplex connections (the load generator).
    var descriptor: Int32 { fd }

    /// The bytes of a POST with a JSON body.
    public static func post(_ path: String, json: String) -> [UInt8] {
        let body = Array(json.utf8)
        return Array("POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
    }

    public static func get(_ path: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
    }

    /// Sends `raw` and reads one response: status and body.
    public func send(_ raw: [UInt8]) throws -> (status: Int, body: String) {
        try write(raw)
        return try readResponse()
    }

    /// Sends bytes without waiting for an answer (tests: half a request, then silence).
    public func write(_ raw: [UInt8]) throws {
        var sent = 0
        while sent < raw.count {
            let n = raw.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw LoadError("send failed") }
            sent += n
        }
    }

    /// For callers that multiplex connections with poll(2): reads what the socket holds
    /// without blocking and returns the status of a response once all of it has arrived (its
    /// body is not decoded); throws when the connection closed.
    func pollResponse() throws -> Int? {
        try fill(wait: false)
        return takeResponse { status, _ in status }
    }

    /// Appends what the socket holds to `pending` (waiting for it, unless `wait` is false).
    private func fill(wait: Bool = true) throws {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, wait ? 0 : Int32(MSG_DONTWAIT)) }
        if n < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
        guard n > 0 else { throw LoadError("connection closed") }
        pending.append(contentsOf: buffer[0..<n])
    }

    /// Takes one whole response (head and Content-Length bytes) off `pending`, nil until it
    /// has all arrived.
    private func takeResponse<T>(_ make: (_ status: Int, _ body: ArraySlice<UInt8>) -> T) -> T? {
        guard let (status, start, length) = pending.withUnsafeBytes({ ResponseHeadBytes.parse($0[...]) }),
              pending.count >= start + length else { return nil }
        let r = make(status, pending[start..<(start + length)])
        pending.removeFirst(start + length)
        return r
    }

    private func readResponse() throws -> (status: Int, body: String) {
        while true {
            if let r = takeResponse({ ($0, String(decoding: $1, as: UTF8.self)) }) { return r }
            try fill()
        }
    }
}

public struct LoadError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Closed-loop load: `clients` keep-alive connections, each sending the next request as soon
/// as the previous answer arrived, for `seconds`; latency is measured per request on the
/// client. Like wrk, a few threads (default 2) each multiplex their connections with poll(2)
/// and parse only what they need (status, Content-Length) from the bytes: the generator
/// shares the cores with the server, so every microsecond it spends is one the server lacks.
public enum HTTPLoad {
    public struct Result: Sendable {
        public var requests = 0
        public var errors = 0
        public var seconds = 0.0
        public var latencies: [Double] = []
        public var perSecond: Double { Double(requests) / max(seconds, 1e-9) }
        public func quantile(_ q: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            return latencies[min(latencies.count - 1, Int(q * Double(latencies.count)))]
        }
    }

    public static func run(port: Int, clients: Int, seconds: Double, requests: [[UInt8]], threads: Int = 2) -> Result {
        let total = Mutex(Result())
        let group = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        let end = start + UInt64(seconds * 1e9)
        let workers = max(1, min(threads, clients))
        for w in 0..<workers {
            let mine = Array(stride(from: w, to: clients, by: workers))
            group.enter()
            let t = Thread {
                var worker = LoadWorker(port: port, clientIds: mine, requests: requests)
                let r = worker.run(until: end)
                total.withLock { t in
                    t.requests += r.requests
                    t.errors += r.errors
                    t.latencies += r.latencies
                }
                group.leave()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        var r = total.withLock { $0 }
        r.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        r.latencies.sort()
        return r
    }
}

/// One load thread: its connections, one poll(2) over all of them.
private struct LoadWorker {
    struct Conn {
        var socket: RawHTTPConnection
        var sentAt: UInt64 = 0
        var next: Int
    }

    var conns: [Conn] = []
    var result = HTTPLoad.Result()
    let requests: [[UInt8]]

    init(port: Int, clientIds: [Int], requests: [[UInt8]]) {
        self.requests = requests
        result.latencies.reserveCapacity(200_000)
        for c in clientIds {
            if let s = try? RawHTTPConnection(port: port) {
                conns.append(Conn(socket: s, next: c * 7919))
            } else {
                result.errors += 1
            }
        }
    }

    mutating func run(until end: UInt64) -> HTTPLoad.Result {
        var fds = conns.map { pollfd(fd: $0.socket.descriptor, events: Int16(POLLIN), revents: 0) }
        for i in conns.indices where !send(i) { fds[i].fd = -1 }
        while DispatchTime.now().uptimeNanoseconds < end && fds.contains(where: { $0.fd >= 0 }) {
            let n = poll(&fds, nfds_t(fds.count), 10)
            if n <= 0 { continue }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                fds[i].revents = 0
                switch receive(i) {
                case .incomplete: continue
                case .failed: result.errors += 1; fds[i].fd = -1
                case .done(let ok, let at):
                    if ok {
                        result.requests += 1
                        result.latencies.append(Double(at - conns[i].sentAt) * 1e-9)
                    } else {
                        result.errors += 1; fds[i].fd = -1; continue
                    }
                    if at < end && !send(i) { fds[i].fd = -1 }
                }
            }
        }
        return result
    }

    private mutating func send(_ i: Int) -> Bool {
        let raw = requests[conns[i].next % requests.count]
        conns[i].next += 1
        conns[i].sentAt = DispatchTime.now().uptimeNanoseconds
        return (try? conns[i].socket.write(raw)) != nil
    }

    enum Outcome { case incomplete, failed, done(ok: Bool, at: UInt64) }

    /// Reads what is there; a whole response ends the request.
    private func receive(_ i: Int) -> Outcome {
        do {
            guard let status = try conns[i].socket.pollResponse() else { return .incomplete }
            return .done(ok: status == 200, at: DispatchTime.now().uptimeNanoseconds)
        } catch {
            return .failed
        }
    }
}

/// Status, start of the body and Content-Length of a response head, from raw bytes (nil
/// until the blank line has arrived).
enum ResponseHeadBytes {
    private static let contentLength = Array("\r\ncontent-length:".utf8)

    static func parse(_ b: UnsafeRawBufferPointer.SubSequence) -> (status: Int, bodyStart: Int, length: Int)? {
        let base = b.startIndex, count = b.count
        guard count >= 16 else { return nil }
        var end = -1
        var i = base
        while i + 3 < base + count {
            if b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { end = i; break }
            i += 1
        }
        guard end >= 0 else { return nil }
        // "HTTP/1.1 200 ..."
        var status = 0
        for j in (base + 9)..<(base + 12) { status = status * 10 + Int(b[j] &- 48) }
        let key = contentLength
        var length = 0
        var j = base
        search: while j + key.count <= end {
            for k in 0..<key.count where (b[j + k] | (k >= 2 ? 0x20 : 0)) != key[k] { j += 1; continue search }
            var v = j + key.count
            while v < end && b[v] == 32 { v += 1 }
            while v < end && b[v] >= 48 && b[v] <= 57 { length = length * 10 + Int(b[v] - 48); v += 1 }
            break
        }
        return (status, end + 4 - base, length)
    }
}
