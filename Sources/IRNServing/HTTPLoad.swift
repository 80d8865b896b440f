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

    private func fill() throws {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { throw LoadError("connection closed") }
        pending.append(contentsOf: buffer[0..<n])
    }

    private func readResponse() throws -> (status: Int, body: String) {
        let sep: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            if pending.count >= 4 {
                for i in 0...(pending.count - 4) where pending[i] == 13 && Array(pending[i..<(i + 4)]) == sep { headerEnd = i; break }
            }
            if headerEnd == nil { try fill() }
        }
        let head = String(decoding: pending[0..<headerEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var length = 0
        for l in lines.dropFirst() where l.lowercased().hasPrefix("content-length:") {
            length = Int(l.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let start = headerEnd! + 4
        while pending.count < start + length { try fill() }
        let body = String(decoding: pending[start..<(start + length)], as: UTF8.self)
        pending.removeFirst(start + length)
        return (status, body)
    }
}

public struct LoadError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Closed-loop load: `clients` connections, each sending the next request as soon as the
/// previous answer arrived, for `seconds`. Latency is measured per request on the client.
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

    public static func run(port: Int, clients: Int, seconds: Double, requests: [[UInt8]]) -> Result {
        let total = Mutex(Result())
        let group = DispatchGroup()
        let start = Date()
        for c in 0..<clients {
            group.enter()
            let t = Thread {
                var mine = Result()
                mine.latencies.reserveCapacity(100_000)
                if let conn = try? RawHTTPConnection(port: port) {
                    var i = c * 7919
                    let end = Date().addingTimeInterval(seconds)
                    while Date() < end {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        let ok = (try? conn.send(requests[i % requests.count]))?.status == 200
                        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                        if ok { mine.requests += 1; mine.latencies.append(dt) } else { mine.errors += 1; break }
                        i += 1
                    }
                } else {
                    mine.errors += 1
                }
                total.withLock { t in
                    t.requests += mine.requests
                    t.errors += mine.errors
                    t.latencies += mine.latencies
                }
                group.leave()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        var r = total.withLock { $0 }
        r.seconds = Date().timeIntervalSince(start)
        r.latencies.sort()
        return r
    }
}
