import Foundation
import IRNSupport

/// The on-disk form of a trained baseline: named arrays plus string metadata.
///
/// Layout: 8 bytes magic `IRNMDL01`, UInt64 little-endian length of a JSON header, the header
/// (`kind`, `meta`, and for each array its name, dtype, shape, byte offset and length), then
/// the raw little-endian array bytes. Everything about the format lives in this file so it
/// can later be replaced by safetensors without touching the models.
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

    private struct Entry: Codable { var name: String; var dtype: String; var shape: [Int]; var offset: Int; var bytes: Int }
    private struct Header: Codable { var kind: String; var meta: [String: String]; var arrays: [Entry] }
    private static let magic = Data("IRNMDL01".utf8)

    public func encoded() throws -> Data {
        var body = Data()
        var entries: [Entry] = []
        for name in arrays.keys.sorted() {
            let start = body.count
            let dtype: String
            switch arrays[name]! {
            case .f32(let a): dtype = "f32"; a.withUnsafeBytes { body.append(contentsOf: $0) }
            case .i32(let a): dtype = "i32"; a.withUnsafeBytes { body.append(contentsOf: $0) }
            case .i64(let a): dtype = "i64"; a.withUnsafeBytes { body.append(contentsOf: $0) }
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shapes[name] ?? [], offset: start, bytes: body.count - start))
        }
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let header = try enc.encode(Header(kind: kind, meta: meta, arrays: entries))
        var out = Self.magic
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        out.append(body)
        return out
    }

    /// Writes atomically: a crash leaves either the old file or the complete new one.
    public func save(to url: URL) throws { try AtomicFile.write(try encoded(), to: url) }

    public static func load(from url: URL) throws -> ModelArchive {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw IRNError("cannot read model file: \(error.localizedDescription)", file: url.path) }
        do { return try decode(data) } catch let e as IRNError { throw IRNError(e.message, file: url.path) }
    }

    public static func decode(_ data: Data) throws -> ModelArchive {
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Data(bytes[0..<8]) == magic else { throw IRNError("not an IRN model file (bad magic)") }
        var len: UInt64 = 0
        for i in 0..<8 { len |= UInt64(bytes[8 + i]) << (8 * UInt64(i)) }
        guard len <= UInt64(bytes.count - 16) else { throw IRNError("truncated model file (header length \(len))") }
        let headerEnd = 16 + Int(len)
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes[16..<headerEnd])) }
        catch { throw IRNError("unreadable model header: \(error)") }
        var out = ModelArchive(kind: header.kind, meta: header.meta)
        for e in header.arrays {
            let lo = headerEnd + e.offset, hi = lo + e.bytes
            guard e.offset >= 0, e.bytes >= 0, hi <= bytes.count else { throw IRNError("array '\(e.name)' runs past the end of the file") }
            let raw = bytes[lo..<hi]
            func read<T>(_ t: T.Type) throws -> [T] {
                guard e.bytes % MemoryLayout<T>.size == 0 else { throw IRNError("array '\(e.name)' has a partial element") }
                let a = [T](unsafeUninitializedCapacity: e.bytes / MemoryLayout<T>.size) { buf, n in
                    raw.withUnsafeBytes { src in UnsafeMutableRawBufferPointer(buf).copyMemory(from: src) }
                    n = e.bytes / MemoryLayout<T>.size
                }
                return a
            }
            switch e.dtype {
            case "f32": out.arrays[e.name] = .f32(try read(Float.self))
            case "i32": out.arrays[e.name] = .i32(try read(Int32.self))
            case "i64": out.arrays[e.name] = .i64(try read(Int64.self))
            default: throw IRNError("array '\(e.name)' has unknown dtype '\(e.dtype)'")
            }
            out.shapes[e.name] = e.shape
        }
        return out
    }
}
