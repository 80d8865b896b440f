import IRNNumerics

/// Limits that bound what a message may make the receiver allocate.
public enum WireLimits {
    public static let maxFrames = 4096
    public static let maxMessageBytes = 1 << 30
    public static let maxStringBytes = 4096
    public static let maxJSONBytes = 16 << 20
    public static let maxParts = 1024
    public static let maxRank = 4
    public static let maxElements = 1 << 31
    public static let maxListEntries = 1 << 16
    /// Gradient values must be below 2^maxGradientExponent in magnitude (`WireError.outOfRange`).
    public static let maxGradientExponent = 60
    /// Largest step count of a row in a gradient (`GradientPush.rowSteps`): Adam's closed-form
    /// multi-step is exact in the first moment for any count; this only bounds nonsense.
    public static let maxRowSteps: Int32 = 1 << 20
    /// Largest square ratio of a row (`GradientPush.rowSquareRatios`); the actor's
    /// `PushAccumulator` caps it here.
    public static let maxRowSquareRatio: Float = 1e12
}

/// A decoded message with its header fields.
public struct WireEnvelope: Sendable, Equatable {
    public var message: WireMessage
    /// Run id of the sending process (the server's changes on every start).
    public var senderRunId: UInt64
    /// For a gradient: the version it was computed on; from the server: its current version.
    public var weightVersion: UInt64
    public var flags: UInt32

    public init(_ message: WireMessage, senderRunId: UInt64, weightVersion: UInt64 = 0, flags: UInt32 = 0) {
        self.message = message
        self.senderRunId = senderRunId
        self.weightVersion = weightVersion
        self.flags = flags
    }
}

/// The wire format. A message is one header frame followed by n >= 1 payload frames:
///
///     header (little-endian): magic "IRNW" | version u16 | kind u16 | flags u32 |
///            payload frame count n u32 | sender run id u64 | weight version u64 |
///            checksum u64 | n x frame length u64
///     payload frame 0: the body (fields of the kind, tensor descriptors)
///     payload frames 1...: raw tensor data (Float32 values, Int32 row indices), in the order
///            the body's descriptors list them
///
/// The checksum (`WireChecksum`) covers the header with the checksum field zeroed, then every
/// payload frame.
public enum WireFormat {
    /// 2: a gradient's body says how its values travel (Float32 or bfloat16) before its parts;
    /// a version-1 peer would misread that byte, so it is refused by version instead.
    public static let version: UInt16 = 2
    static let magic: [UInt8] = Array("IRNW".utf8)
    static let fixedHeaderBytes = 40

    // MARK: encoding

    public static func encode(_ message: WireMessage, senderRunId: UInt64, weightVersion: UInt64 = 0,
                              flags: UInt32 = 0) -> [[UInt8]] {
        encode(WireEnvelope(message, senderRunId: senderRunId, weightVersion: weightVersion, flags: flags))
    }

    public static func encode(_ env: WireEnvelope) -> [[UInt8]] {
        var body = BodyEncoder()
        body.encode(env.message)
        return seal(kind: env.message.kind.rawValue, flags: env.flags, runId: env.senderRunId,
                    weightVersion: env.weightVersion, payload: [body.writer.bytes] + body.frames)
    }

    /// Builds the header frame for `payload` (exposed to tests to forge messages).
    static func seal(kind: UInt16, flags: UInt32, runId: UInt64, weightVersion: UInt64,
                     payload: [[UInt8]], version: UInt16 = WireFormat.version) -> [[UInt8]] {
        var w = WireBytesWriter()
        w.bytes.append(contentsOf: magic)
        w.u16(version)
        w.u16(kind)
        w.u32(flags)
        w.u32(UInt32(payload.count))
        w.u64(runId)
        w.u64(weightVersion)
        w.u64(0)  // checksum placeholder
        for f in payload { w.u64(UInt64(f.count)) }
        var sum = WireChecksum()
        sum.update(w.bytes)
        for f in payload { sum.update(f) }
        w.bytes.withUnsafeMutableBytes { $0.storeBytes(of: sum.value.littleEndian, toByteOffset: 32, as: UInt64.self) }
        return [w.bytes] + payload
    }

    // MARK: decoding

    /// Decodes and checks a message; any defect gives a `WireError`, never a trap. Tensor
    /// data is read straight from the frames (one copy, into the decoded values).
    public static func decode<F: WireFrame>(_ frames: [F], maxBytes: Int = WireLimits.maxMessageBytes) throws(WireError) -> WireEnvelope {
        try decode(frames, maxBytes: maxBytes, borrow: false).envelope
    }

    /// Like `decode`, but a gradient's tensors are not copied: they come back as views into
    /// `frames` (checked the same way), and the envelope's gradient has no parts. The views are
    /// valid while `frames` are alive. Other kinds decode as usual, with no views.
    public static func decodeBorrowingTensors<F: WireFrame>(_ frames: [F], maxBytes: Int = WireLimits.maxMessageBytes) throws(WireError) -> (envelope: WireEnvelope, tensors: [TensorPartView]) {
        try decode(frames, maxBytes: maxBytes, borrow: true)
    }

    private static func decode<F: WireFrame>(_ frames: [F], maxBytes: Int, borrow: Bool) throws(WireError) -> (envelope: WireEnvelope, tensors: [TensorPartView]) {
        guard let first = frames.first else { throw .noFrames }
        let header = first.byteArray
        guard header.count >= fixedHeaderBytes else { throw .headerTooShort(header.count) }
        guard Array(header[0..<4]) == magic else { throw .badMagic }
        var r = WireBytesReader(header, what: "header")
        _ = try r.u32("magic")
        let version = try r.u16("version")
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let kindRaw = try r.u16("kind")
        guard let kind = WireKind(rawValue: kindRaw) else { throw .unknownKind(kindRaw) }
        let flags = try r.u32("flags")
        let n = Int(try r.u32("frame count"))
        guard n >= 1, n <= WireLimits.maxFrames else {
            throw .malformed("payload frame count \(n) outside 1...\(WireLimits.maxFrames)")
        }
        let runId = try r.u64("run id")
        let weightVersion = try r.u64("weight version")
        let checksum = try r.u64("checksum")
        guard header.count == fixedHeaderBytes + 8 * n else {
            throw .malformed("header of \(header.count) bytes for \(n) payload frames")
        }
        guard frames.count - 1 == n else { throw .frameCountMismatch(header: n, actual: frames.count - 1) }
        var total = header.count
        for i in 0..<n {
            let len = try r.u64("frame length")
            guard len == UInt64(frames[i + 1].count) else {
                throw .frameLengthMismatch(frame: i, header: len, actual: frames[i + 1].count)
            }
            total += frames[i + 1].count
        }
        guard total <= maxBytes else { throw .oversized(bytes: total, limit: maxBytes) }
        var sum = WireChecksum()
        var zeroed = header
        zeroed.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(0), toByteOffset: 32, as: UInt64.self) }
        sum.update(zeroed)
        for f in frames.dropFirst() { f.withUnsafeBytes { sum.update($0) } }
        guard sum.value == checksum else { throw .checksumMismatch }

        var body = BodyDecoder(reader: WireBytesReader(frames[1].byteArray, what: "\(kind)"), frames: Array(frames.dropFirst(2)))
        body.borrow = borrow && kind == .gradient
        let message = try body.decode(kind)
        try body.finish()
        return (WireEnvelope(message, senderRunId: runId, weightVersion: weightVersion, flags: flags), body.views)
    }
}
