import Foundation
import IRNNumerics
import IRNSupport

/// The on-disk form of a trained baseline: named arrays plus string metadata, stored as a
/// safetensors file (the project's one tensor container, which NumPy and PyTorch open) whose
/// metadata says `format` "irn-baseline", its `kind` and the model's own fields.
public struct ModelArchive: Sendable {
    public enum Array: Sendable, Equatable {
        case f32([Float]), i32([Int32]), i64([Int64])
    }

    /// Which model this is (`pop`, `spop`, `bpr`, `cknn`, `gru4rec`, ...).
    public var kind: String
    public var meta: [String: String]
    public var arrays: [String: Array]
    public var shapes: [String: [Int]]

    public init(kind: String, meta: [String: String] = [:]) {
        self.kind = kind
        self.meta = meta
        arrays = [:]
        shapes = [:]
    }

    public mutating func put(_ name: String, _ a: [Float], shape: [Int]? = nil) { arrays[name] = .f32(a); shapes[name] = shape ?? [a.count] }
    public mutating func put(_ name: String, _ a: [Int32], shape: [Int]? = nil) { arrays[name] = .i32(a); shapes[name] = shape ?? [a.count] }
    public mutating func put(_ name: String, _ a: [Int64], shape: [Int]? = nil) { arrays[name] = .i64(a); shapes[name] = shape ?? [a.count] }

    public func floats(_ name: String, count: Int? = nil) throws -> [Float] {
        guard case .f32(let a)? = arrays[name] else { throw IRNError("model file has no float array '\(name)' (kind \(kind))") }
        if let c = count, a.count != c { throw IRNError("array '\(name)' holds \(a.count) values, expected \(c)") }
        return a
    }
    public func int32s(_ name: String) throws -> [Int32] {
        guard case .i32(let a)? = arrays[name] else { throw IRNError("model file has no int32 array '\(name)' (kind \(kind))") }
        return a
    }
    public func int64s(_ name: String) throws -> [Int64] {
        guard case .i64(let a)? = arrays[name] else { throw IRNError("model file has no int64 array '\(name)' (kind \(kind))") }
        return a
    }
    public func int(_ key: String) throws -> Int {
        guard let s = meta[key], let v = Int(s) else { throw IRNError("model file lacks integer field '\(key)' (kind \(kind))") }
        return v
    }
    public func double(_ key: String) throws -> Double {
        guard let s = meta[key], let v = Double(s) else { throw IRNError("model file lacks number field '\(key)' (kind \(kind))") }
        return v
    }

    public static let formatName = "irn-baseline"
    /// Metadata keys the format itself uses; a model's own fields must not take them.
    static let reservedKeys: Set<String> = ["format", "kind"]

    public func file() throws -> SafetensorsFile {
        if let clash = meta.keys.first(where: Self.reservedKeys.contains) {
            throw IRNError("baseline metadata field '\(clash)' is reserved by the model file format")
        }
        var f = SafetensorsFile(metadata: meta.merging(["format": Self.formatName, "kind": kind]) { _, format in format })
        for (name, array) in arrays {
            let shape = shapes[name] ?? []
            switch array {
            case .f32(let a): f[name] = SafetensorsTensor(floats: a, shape: shape)
            case .i32(let a): f[name] = SafetensorsTensor(int32s: a, shape: shape)
            case .i64(let a): f[name] = SafetensorsTensor(int64s: a, shape: shape)
            }
        }
        return f
    }

    public func encoded() throws -> Data { try file().encoded() }

    /// Writes atomically: a crash leaves either the old file or the complete new one.
    public func save(to url: URL) throws { try file().write(to: url) }

    public static func load(from url: URL) throws -> ModelArchive {
        let f = try SafetensorsFile.read(from: url)
        do { return try decode(f) } catch let e as IRNError { throw IRNError(e.message, file: url.path) }
    }

    public static func decode(_ data: Data) throws -> ModelArchive {
        try decode(SafetensorsFile.decode(data))
    }

    public static func decode(_ f: SafetensorsFile) throws -> ModelArchive {
        guard f.metadata["format"] == formatName, let kind = f.metadata["kind"] else {
            throw IRNError("not a baseline model file (metadata format is \(f.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(formatName)' with a kind)")
        }
        var out = ModelArchive(kind: kind, meta: f.metadata.filter { !reservedKeys.contains($0.key) })
        for (name, t) in f.tensors {
            switch t.dtype {
            case .f32: out.arrays[name] = .f32(try t.floats())
            case .i32: out.arrays[name] = .i32(try t.int32s())
            case .i64: out.arrays[name] = .i64(try t.int64s())
            default: throw IRNError("array '\(name)' has dtype \(t.dtype.rawValue), which no baseline stores")
            }
            out.shapes[name] = t.shape
        }
        return out
    }
}
