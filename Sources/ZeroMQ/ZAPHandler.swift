import Foundation
import CZeroMQ
import IRNSupport

/// Checks CURVE clients against a list of allowed public keys (ZeroMQ Authentication Protocol,
/// RFC 27) on a thread of its own. Start it before binding any CURVE server socket of the same
/// context; libzmq then asks it about every connecting client. Refusals are counted, which is
/// how the server reports actors it turned away.
public final class ZAPHandler: @unchecked Sendable {
    public struct Counts: Sendable, Equatable {
        public var accepted = 0
        public var refused = 0
        /// Z85 public keys of the last refused clients (at most 16).
        public var lastRefusedKeys: [String] = []
    }

    public static let endpoint = "inproc://zeromq.zap.01"

    private let socket: Socket
    private let allowed: Locked<Set<String>?>
    private let state = Locked(Counts())
    private let running = Locked(true)
    private let done = DispatchSemaphore(value: 0)

    /// `allowedKeys`: Z85 public keys admitted; nil admits every CURVE client (encryption only).
    public init(context: Context, allowedKeys: Set<String>?) throws {
        socket = try context.socket(.rep)
        try socket.bind(Self.endpoint)
        allowed = Locked(allowedKeys)
        let t = Thread { [self] in self.run() }
        t.name = "zap-handler"
        t.start()
    }

    public var counts: Counts { state.current }

    public func setAllowedKeys(_ keys: Set<String>?) { allowed.withLock { $0 = keys } }

    /// Stops the thread and closes its socket (waits for it).
    public func stop() {
        let wasRunning = running.withLock { r -> Bool in let w = r; r = false; return w }
        if wasRunning { done.wait() }
    }

    deinit { stop() }

    private func run() {
        defer {
            socket.close()
            done.signal()
        }
        while running.current {
            guard let ready = try? poll([socket], timeoutMs: 100) else { return }
            guard ready[0] else { continue }
            guard let req = try? socket.receive(dontWait: true) else { continue }
            // version, request id, domain, address, routing id, mechanism, credentials...
            guard req.count >= 6 else {
                _ = try? socket.send([Array("1.0".utf8), [], Array("500".utf8), Array("bad request".utf8), [], []])
                continue
            }
            let requestId = req[1]
            let mechanism = String(decoding: req[5], as: UTF8.self)
            var ok = false
            var keyText = ""
            if mechanism == "CURVE", req.count >= 7, req[6].count == 32 {
                keyText = Curve.encodeZ85(req[6])
                ok = allowed.withLock { set in set.map { $0.contains(keyText) } ?? true }
            }
            state.withLock { c in
                if ok {
                    c.accepted += 1
                } else {
                    c.refused += 1
                    c.lastRefusedKeys.append(keyText)
                    if c.lastRefusedKeys.count > 16 { c.lastRefusedKeys.removeFirst() }
                }
            }
            let status = ok ? "200" : "400"
            let text = ok ? "OK" : "key not allowed"
            _ = try? socket.send([Array("1.0".utf8), requestId, Array(status.utf8), Array(text.utf8),
                                  Array(keyText.utf8), []])
        }
    }
}
