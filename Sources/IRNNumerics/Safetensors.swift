import Foundation
import IRNSupport

// The safetensors format (https://github.com/huggingface/safetensors), so NumPy / PyTorch users
// can open our checkpoints:
//   8 bytes   little-endian UInt64 N, the length of the JSON header
//   N bytes   UTF-8 JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
//             "__metadata__": {"key": "string", ...}}  (padded with spaces to a multiple of 8)
//   rest      raw little-endian tensor bytes; offsets are relative to the start of this block,
//             contiguous, in order, and cover it exactly.

/// Element types we store: Float32 for parameters and moments, integers for counters/progress.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", i64 = "I64", i32 = "I32", u8 = "U8"

    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .i64: return 8
        case .u8: return 1
        }
    }
}

/// One named tensor: its element type, shape and raw little-endian bytes.
public struct SafetensorsTensor: Sendable, Equatable {
    public var dtype: SafetensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    /// Number of elements (product of the shape; 1 for a scalar of shape []).
    public var count: Int { shape.reduce(1, *) }

    public init(dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension")
        precondition(shape.reduce(1, *) * dtype.byteSize == bytes.count, "shape does not match bytes")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(floats: [Float], shape: [Int]) {
        self.init(dtype: .f32, shape: shape, bytes: Self.littleEndianBytes(floats.map { $0.bitPattern }))
    }

    public init(int64s: [Int64], shape: [Int]) {
        self.init(dtype: .i64, shape: shape, bytes: Self.littleEndianBytes(int64s))
    }

    public init(int32s: [Int32], shape: [Int]) {
        self.init(dtype: .i32, shape: shape, bytes: Self.littleEndianBytes(int32s))
    }

    public init(uint8s: [UInt8], shape: [Int]) {
        self.init(dtype: .u8, shape: shape, bytes: uint8s)
    }

    /// The values as Float32; throws if the tensor holds another type.
    public func floats() throws -> [Float] {
        try expect(.f32)
        return Self.decode(bytes, as: UInt32.self).map(Float.init(bitPattern:))
    }

    public func int64s() throws -> [Int64] {
        try expect(.i64)
        return Self.decode(bytes, as: Int64.self)
    }

    public func int32s() throws -> [Int32] {
        try expect(.i32)
        return Self.decode(bytes, as: Int32.self)
    }

    private func expect(_ t: SafetensorsDType) throws {
        guard dtype == t else { throw IRNError("tensor holds \(dtype.rawValue), not \(t.rawValue)") }
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * MemoryLayout<T>.size)
        out.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self)
            }
        }
        return out
    }

    static func decode<T: FixedWidthInteger>(_ bytes: [UInt8], as: T.Type) -> [T] {
        let n = bytes.count / MemoryLayout<T>.size
        return bytes.withUnsafeBytes { raw in
            (0..<n).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
        }
    }
}

/// A set of named tensors plus string metadata, read from / written to a safetensors file.
public struct SafetensorsFile: Sendable, Equatable {
    public var tensors: [String: SafetensorsTensor]
    public var metadata: [String: String]

    /// Largest JSON header we accept (a corrupt length would otherwise make us allocate gigabytes).
    public static let maxHeaderBytes = 100 << 20

    public init(tensors: [String: SafetensorsTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> SafetensorsTensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    // MARK: writing

    /// The file's bytes. Tensors are laid out in name order (deterministic output).
    public func encoded() -> Data {
        let names = tensors.keys.sorted()
        var json = "{"
        var offset = 0
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(JSONText.quoted($0)):\(JSONText.quoted(metadata[$0]!))" }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        for name in names {
            let t = tensors[name]!
            if !first { json += "," }
            first = false
            let shape = t.shape.map(String.init).joined(separator: ",")
            json += "\(JSONText.quoted(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
            json += "\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
            offset += t.bytes.count
        }
        json += "}"
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }  // pad so tensor data starts aligned

        var out = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        return out
    }

    /// Writes atomically: a crash leaves either the old file or the new one, never a torn one.
    public func write(to url: URL) throws {
        try AtomicFile.write(encoded(), to: url)
    }

    // MARK: reading

    public static func read(from url: URL) throws -> SafetensorsFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw IRNError("cannot read safetensors file: \(error.localizedDescription)", file: url.path)
        }
        return try decode(data, source: url.path)
    }

    /// The `__metadata__` of a file, reading only its header (a model of hundreds of MB is not
    /// loaded to find out what it is); nil when the file is not readable safetensors.
    public static func metadata(of url: URL) -> [String: String]? {
        guard let h = FileHandle(forReadingAtPath: url.path) else { return nil }
        defer { try? h.close() }
        // The throwing reads: `readData(ofLength:)` traps (a `try!` inside Foundation) on a
        // read error, e.g. EISDIR when the path is a directory.
        guard let lengthBytes = try? h.read(upToCount: 8), lengthBytes.count == 8 else { return nil }
        var n: UInt64 = 0
        for (i, b) in lengthBytes.enumerated() { n |= UInt64(b) << (8 * UInt64(i)) }
        guard n >= 2, n <= UInt64(maxHeaderBytes) else { return nil }
        guard let header = try? h.read(upToCount: Int(n)), header.count == Int(n),
              let obj = (try? JSONSerialization.jsonObject(with: header)) as? [String: Any] else { return nil }
        guard let meta = obj["__metadata__"] else { return [:] }
        return (meta as? [String: Any])?.compactMapValues { $0 as? String }
    }

    /// Parses and validates a whole file; `source` names it in error messages.
    public static func decode(_ data: Data, source: String = "<safetensors>") throws -> SafetensorsFile {
        func fail(_ msg: String) -> IRNError { IRNError("corrupt safetensors file: \(msg)", file: source) }

        guard data.count >= 8 else { throw fail("\(data.count) bytes, shorter than the 8-byte header length") }
        let bytes = [UInt8](data)
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n >= 2, n <= UInt64(maxHeaderBytes) else {
            throw fail("header length \(n) is out of range (2...\(maxHeaderBytes))")
        }
        let headerLen = Int(n)
        guard 8 + headerLen <= bytes.count else {
            throw fail("header length \(headerLen) exceeds the file (\(bytes.count - 8) bytes after the length)")
        }
        let headerBytes = bytes[8..<(8 + headerLen)]
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(headerBytes), options: []),
              let obj = parsed as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let dataStart = 8 + headerLen
        let dataLen = bytes.count - dataStart

        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: SafetensorsDType, shape: [Int], begin: Int, end: Int)] = []
        for (key, value) in obj {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (mk, mv) in m {
                    guard let s = mv as? String else { throw fail("__metadata__ value of \"\(mk)\" is not a string") }
                    metadata[mk] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry \"\(key)\" is not an object") }
            guard let dtName = info["dtype"] as? String else { throw fail("entry \"\(key)\" has no dtype") }
            guard let dtype = SafetensorsDType(rawValue: dtName) else {
                throw fail("entry \"\(key)\" has unsupported dtype \(dtName) (we read F32, I64, I32, U8)")
            }
            guard let shapeAny = info["shape"] as? [Any], let shape = intArray(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("entry \"\(key)\" has a shape that is not a list of non-negative integers")
            }
            guard let offAny = info["data_offsets"] as? [Any], let offs = intArray(offAny), offs.count == 2 else {
                throw fail("entry \"\(key)\" has data_offsets that are not two integers")
            }
            guard offs[0] >= 0, offs[0] <= offs[1], offs[1] <= dataLen else {
                throw fail("entry \"\(key)\" data_offsets [\(offs[0]), \(offs[1])] fall outside the \(dataLen) data bytes (truncated file?)")
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= dataLen else { throw fail("entry \"\(key)\" shape \(shape) is larger than the file") }
                count = p
            }
            guard count * dtype.byteSize == offs[1] - offs[0] else {
                throw fail("entry \"\(key)\" shape \(shape) of \(dtName) needs \(count * dtype.byteSize) bytes, data_offsets give \(offs[1] - offs[0])")
            }
            entries.append((key, dtype, shape, offs[0], offs[1]))
        }
        // Offsets must tile the data block exactly: no gaps, overlaps or trailing bytes.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor = 0
        for e in entries {
            guard e.begin == cursor else {
                throw fail("entry \"\(e.name)\" starts at \(e.begin), expected \(cursor) (offsets must be contiguous and ordered)")
            }
            cursor = e.end
        }
        guard cursor == dataLen else {
            throw fail("tensors cover \(cursor) bytes but the data block holds \(dataLen)")
        }
        var tensors: [String: SafetensorsTensor] = [:]
        for e in entries {
            tensors[e.name] = SafetensorsTensor(
                dtype: e.dtype, shape: e.shape,
                bytes: Array(bytes[(dataStart + e.begin)..<(dataStart + e.end)]))
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    private static func intArray(_ a: [Any]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for v in a {
            // JSONSerialization gives NSNumber; reject fractions and strings.
            guard let num = v as? NSNumber else { return nil }
            let d = num.doubleValue
            guard d == d.rounded(), abs(d) < 9.0e15 else { return nil }
            out.append(Int(d))
        }
        return out
    }
}
