import Foundation
import IRNSupport
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Limits and addresses of `irn serve`'s HTTP side.
public struct ServeHTTPOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Request bodies over this many bytes get 413.
    public var maxBody = 64 * 1024
    /// Largest k a client may ask for (also capped by the item count).
    public var maxK = 1000
    /// Longest session `POST /v1/recommend` accepts.
    public var maxSessionItems = 1000
    public init() {}
}

/// Everything the routes need: the batcher (model + sessions), the item map, metrics, and
/// in follow mode the cluster follower (live stats for the page).
public struct ServeBackend: Sendable {
    public var batcher: Batcher
    public var items: ItemMap
    public var metrics: ServingMetrics
    /// Original ids the page offers to click first (most popular when data was given).
    public var sampleItems: [Int64]
    public var follower: ClusterFollower?

    public init(batcher: Batcher, items: ItemMap, metrics: ServingMetrics, sampleItems: [Int64], follower: ClusterFollower? = nil) {
        self.batcher = batcher
        self.items = items
        self.metrics = metrics
        self.sampleItems = sampleItems
        self.follower = follower
    }
}

public enum ServingHTTP {
    /// Runs the HTTP server until SIGINT / SIGTERM. `onListening` gets the bound port (the
    /// command prints it: tests and scripts start the server on port 0 and read it).
    ///
    /// SwiftNIO's HTTP/1.1 codec with one handler: a request is parsed on its connection's
    /// event loop, scored by the batcher thread, and its answer is written back from that
    /// loop. Two thread hand-offs a request (an async/await server costs about twice that, which
    /// on two cores shared with the load showed as a third of the CPU time).
    public static func run(_ backend: ServeBackend, options: ServeHTTPOptions,
                           onListening: @escaping @Sendable (Int) -> Void) async throws {
        let routes = ServeRoutes(backend: backend, options: options)
        let relay = AnswerRelay()
        backend.batcher.afterBatch = { relay.flush() }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client may send its request and shut its side down: it still gets its answer
            // (NIO's pipelining handler closes once the answers in flight are written).
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ServeHTTPHandler(routes: routes, relay: relay))
                }
            }
        let channel = try await bootstrap.bind(host: options.host, port: options.port).get()
        let stop = stopOnSignals(channel)
        onListening(channel.localAddress?.port ?? options.port)
        try await channel.closeFuture.get()
        stop.forEach { $0.cancel() }
    }

    /// SIGINT / SIGTERM close the listening socket, which ends `run`.
    private static func stopOnSignals(_ channel: any Channel) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { channel.close(promise: nil) }
            source.resume()
            return source
        }
    }
}

/// One connection's requests (NIO's pipelining handler hands them over one at a time):
/// the body is collected up to the limit, the route answers at once or via the batcher.
final class ServeHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: ServeRoutes
    private let relay: AnswerRelay
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var overLimit: String?
    private var started = 0.0

    init(routes: ServeRoutes, relay: AnswerRelay) {
        self.routes = routes
        self.relay = relay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let limit = routes.options.maxBody
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
            overLimit = nil
            started = monotonicSeconds()
            if let len = h.headers.first(name: "content-length").flatMap(Int.init), len > limit {
                overLimit = "request body of \(len) bytes is over the limit of \(limit)"
            }
        case .body(var part):
            guard overLimit == nil else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > limit {
                overLimit = "request body is over the limit of \(limit) bytes"
                body = nil
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let h = head else { return }
            head = nil
            let path = h.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? h.uri
            let label = ServeRoutes.label(path)
            if let reason = overLimit {
                write(context, .error(413, reason), head: h, label: label)
                return
            }
            let outcome: RouteOutcome
            if let b = body, b.readableBytes > 0 {
                outcome = b.withUnsafeReadableBytes { routes.route(method: h.method.rawValue, path: path, body: $0) }
            } else {
                outcome = routes.route(method: h.method.rawValue, path: path, body: nil)
            }
            body = nil
            switch outcome {
            case .now(let answer):
                write(context, answer, head: h, label: label)
            case .score(let job, let render):
                let loop = context.eventLoop
                let bound = NIOLoopBound((self, context), eventLoop: loop)
                routes.backend.batcher.submit(job) { [relay] result in
                    let text = render(result)
                    relay.add(loop) {
                        let (handler, ctx) = bound.value
                        handler.write(ctx, .json(text), head: h, label: label)
                    }
                }
            }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ answer: HTTPAnswer, head request: HTTPRequestHead, label: String) {
        // Before writing: the end of this answer lets the next pipelined request in (and resets
        // `started`). An answer to a connection that is gone counts as 499 (nginx's "client
        // closed request"), not as given.
        let active = context.channel.isActive
        routes.backend.metrics.observeRequest(route: label, status: active ? answer.status : 499, seconds: monotonicSeconds() - started)
        guard active else { return }
        var buffer = context.channel.allocator.buffer(capacity: answer.body.utf8.count)
        buffer.writeString(answer.body)
        var headers = HTTPHeaders()
        headers.reserveCapacity(4)
        headers.add(name: "content-type", value: answer.type)
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// The answers of one batch, grouped by event loop: one `execute` (one wake-up) per loop per
/// batch instead of one per request. Touched only by the scoring thread.
final class AnswerRelay: @unchecked Sendable {
    private var pending: [(loop: any EventLoop, work: [@Sendable () -> Void])] = []

    func add(_ loop: any EventLoop, _ work: @escaping @Sendable () -> Void) {
        if let i = pending.firstIndex(where: { $0.loop === loop }) {
            pending[i].work.append(work)
        } else {
            pending.append((loop, [work]))
        }
    }

    func flush() {
        for (loop, work) in pending {
            loop.execute { for w in work { w() } }
        }
        pending.removeAll(keepingCapacity: true)
    }
}
