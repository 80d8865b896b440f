/// Settings of one actor.
public struct ActorConfig: Sendable {
    /// The server's actor endpoint, `tcp://HOST:P` (broadcasts are read from P+1).
    public var server: String
    public var actorId: String
    public var host: String
    public var threads: UInt32 = 1
    /// Seconds between heartbeats (the server drops actors silent for its timeout).
    public var heartbeatInterval: Double = 1
    /// Seconds between Hello attempts while the server does not answer.
    public var helloRetry: Double = 2
    /// Seconds a join attempt waits for the server's answer before it is logged as
    /// unanswered and made again.
    public var connectTimeout: Double = 10
    /// Unanswered join attempts before `run()` gives up (0: never; a server may start later).
    public var connectAttempts = 0
    /// Rejoin when nothing at all came from the server for this long.
    public var serverSilenceTimeout: Double = 15
    /// Seconds to wait for the acknowledgement of a push before giving up on it.
    public var ackTimeout: Double = 10
    /// Pushes sent but not yet acknowledged before the actor waits.
    public var maxInFlight = 1
    /// Wait, before each gradient, until the weights of every acknowledged push are in the
    /// replica (with maxInFlight 1 and one actor: the synchronous, deterministic mode).
    public var syncWeights = false
    /// Shards asked for per lease (0: as many as the server's --shards-per-lease).
    public var shardsPerLease: UInt32 = 0
    /// CURVE: server public key, our public and secret keys (Z85); nil: plain TCP.
    public var curve: (serverPublicKey: String, publicKey: String, secretKey: String)?

    public init(server: String, actorId: String, host: String) {
        self.server = server
        self.actorId = actorId
        self.host = host
    }

    /// tcp://HOST:P+1.
    func broadcastEndpoint() -> String? {
        guard let colon = server.lastIndex(of: ":"), let p = Int(server[server.index(after: colon)...]) else { return nil }
        return "\(server[..<colon]):\(p + 1)"
    }
}
