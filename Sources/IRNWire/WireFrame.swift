/// Anything a message part can be read from: a byte array, or a frame still in the
/// transport's receive buffer (so that large tensors are read where they landed, not copied
/// into an intermediate array first).
public protocol WireFrame {
    var count: Int { get }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: WireFrame where Element == UInt8 {}

extension WireFrame {
    /// A copy of the bytes (for the small frames: header, body).
    var byteArray: [UInt8] { withUnsafeBytes { Array($0) } }
}
