import CZeroMQ

/// A CURVE key pair in Z85 text (40 characters each), as libzmq's options take them.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from libzmq's CSPRNG (requires CURVE support in libzmq).
    public static func generate() throws -> CurveKeyPair {
        var pub = [CChar](repeating: 0, count: 41)
        var sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw ZMQError("curve_keypair") }
        return CurveKeyPair(publicKey: Curve.string(pub), secretKey: Curve.string(sec))
    }

    /// The pair whose secret key is `secretKey` (derives the public key).
    public init(secretKey: String) throws {
        self.init(publicKey: try Curve.publicKey(fromSecret: secretKey), secretKey: secretKey)
    }
}

public enum Curve {
    /// The public key belonging to a Z85 secret key.
    public static func publicKey(fromSecret secret: String) throws -> String {
        guard isValidKey(secret) else { throw ZMQError("curve_public", code: EINVAL) }
        var pub = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&pub, secret) == 0 else { throw ZMQError("curve_public") }
        return string(pub)
    }

    /// Whether `key` is 40 characters of Z85 (a 32-byte key).
    public static func isValidKey(_ key: String) -> Bool {
        key.utf8.count == 40 && decodeZ85(key) != nil
    }

    /// Z85 text to bytes; nil if not valid Z85 of a length divisible by 5.
    public static func decodeZ85(_ text: String) -> [UInt8]? {
        let n = text.utf8.count
        guard n % 5 == 0 else { return nil }
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
        guard text.utf8.allSatisfy({ alphabet.contains($0) }) else { return nil }
        var out = [UInt8](repeating: 0, count: n / 5 * 4)
        guard zmq_z85_decode(&out, text) != nil else { return nil }
        return out
    }

    /// Bytes (a multiple of 4) to Z85 text.
    public static func encodeZ85(_ bytes: [UInt8]) -> String {
        precondition(bytes.count % 4 == 0)
        var out = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        _ = zmq_z85_encode(&out, bytes, bytes.count)
        return string(out)
    }

    static func string(_ c: [CChar]) -> String {
        String(decoding: c.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
