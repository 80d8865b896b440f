import IRNSupport
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The four server sockets bound on consecutive ports P...P+3.
struct BoundSockets {
    let router: Socket
    let pub: Socket
    let stats: Socket
    let http: Socket
    let basePort: Int

    static func bind(context: Context, host: String, port: Int, configure: (Socket, Int) throws -> Void) throws -> BoundSockets {
        if port != 0 { return try attempt(context: context, host: host, port: port, configure: configure) }
        // Find a free base: try bases derived from our pid and the clock, no global RNG.
        var seed = StableHash.fnv1a(UInt64(getpid()) ^ UInt64(monotonicSeconds() * 1e6))
        var lastError: Error?
        for _ in 0..<50 {
            seed = StableHash.fnv1a(seed)
            let base = 20_000 + Int(seed % 20_000) * 2
            do { return try attempt(context: context, host: host, port: base, configure: configure) } catch { lastError = error }
        }
        throw lastError ?? IRNError("no free ports")
    }

    private static func attempt(context: Context, host: String, port: Int, configure: (Socket, Int) throws -> Void) throws -> BoundSockets {
        let types: [SocketType] = [.router, .pub, .rep, .stream]
        var socks: [Socket] = []
        do {
            for (i, t) in types.enumerated() {
                let s = try context.socket(t)
                socks.append(s)
                try configure(s, i)
                try s.bind("tcp://\(host):\(port + i)")
            }
        } catch {
            socks.forEach { $0.close() }
            throw error
        }
        return BoundSockets(router: socks[0], pub: socks[1], stats: socks[2], http: socks[3], basePort: port)
    }

    func closeAll() {
        [router, pub, stats, http].forEach { $0.close() }
    }
}
