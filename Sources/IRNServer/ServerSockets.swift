import IRNSupport
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server's listening endpoints on consecutive ports: ZeroMQ ROUTER on P (actors), PUB on
/// P+1 (weight broadcast), REP on P+2 (stats), and HTTP on P+3. Each socket is configured by
/// its role; all four bind together or none does, so a search for a free base (port 0) never
/// leaves half a server behind.
struct ServerSockets {
    /// The ZeroMQ sockets, by port offset.
    enum Role: Int, CaseIterable {
        case actors = 0, broadcast, stats
        var type: SocketType {
            switch self {
            case .actors: return .router
            case .broadcast: return .pub
            case .stats: return .rep
            }
        }
    }
    static let httpOffset = 3
    /// How long a fixed base port is retried while one of its ports is in use.
    static let bindRetrySeconds = 5.0

    let router: Socket
    let pub: Socket
    let stats: Socket
    let http: StatsHTTPServer
    let basePort: Int

    /// `configure` sets each ZeroMQ socket's options before it binds; `startHTTP` binds P+3.
    static func bind(context: Context, host: String, port: Int,
                     configure: (Socket, Role) throws -> Void,
                     startHTTP: (Int) throws -> StatsHTTPServer) throws -> ServerSockets {
        func attempt(_ base: Int) throws -> ServerSockets {
            try Self.attempt(context: context, host: host, port: base, configure: configure, startHTTP: startHTTP)
        }
        if port != 0 {
            // A restarted server's port can be held for a moment by someone else's socket: with
            // P in the kernel's ephemeral range, a client polling the dead server (`irn stats`)
            // can get P+2 itself as its source port (a TCP self-connect) until it gives up.
            // Retry "address in use" for a few seconds before failing (a chaos run's restart
            // after kill -9 died of it).
            let until = monotonicSeconds() + bindRetrySeconds
            while true {
                do { return try attempt(port) } catch where "\(error)".contains("in use") && monotonicSeconds() < until {
                    usleep(200_000)
                }
            }
        }
        // Find a free base: try bases derived from our pid and the clock, no global RNG.
        var seed = StableHash.fnv1a(UInt64(getpid()) ^ UInt64(monotonicSeconds() * 1e6))
        var lastError: Error?
        for _ in 0..<50 {
            seed = StableHash.fnv1a(seed)
            do { return try attempt(20_000 + Int(seed % 20_000) * 2) } catch { lastError = error }
        }
        throw lastError ?? IRNError("no free ports")
    }

    private static func attempt(context: Context, host: String, port: Int,
                                configure: (Socket, Role) throws -> Void,
                                startHTTP: (Int) throws -> StatsHTTPServer) throws -> ServerSockets {
        var socks: [Socket] = []
        do {
            for role in Role.allCases {
                let s = try context.socket(role.type)
                socks.append(s)
                try configure(s, role)
                try s.bind("tcp://\(host):\(port + role.rawValue)")
            }
            let http = try startHTTP(port + httpOffset)
            return ServerSockets(router: socks[0], pub: socks[1], stats: socks[2], http: http, basePort: port)
        } catch {
            socks.forEach { $0.close() }
            throw error
        }
    }

    func closeAll() {
        [router, pub, stats].forEach { $0.close() }
        http.stop()
    }
}
