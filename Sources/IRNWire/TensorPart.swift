import Foundation

/// One named piece of parameters or gradient, as it travels: dense (all values) or row-sparse
/// (strictly increasing row indices and those rows only). This is the generic currency of the
/// wire; the numerics' own Gradient / parameter types convert to and from it with an adapter.
public struct TensorPart: Sendable, Equatable {
    /// Parameter name, e.g. "lstm.wx" (at most `WireLimits.maxStringBytes` UTF-8 bytes).
    public var name: String
    /// Full logical shape (rank 1...4). For row-sparse parts shape[0] is the total row count.
    public var shape: [Int]
    /// nil: dense, `values.count == product(shape)`. Otherwise the rows present, strictly
    /// increasing, each in 0..<shape[0], and `values.count == rows.count * rowWidth`.
    public var rows: [Int32]?
    /// Row-major Float32 values.
    public var values: [Float]

    public init(name: String, shape: [Int], rows: [Int32]? = nil, values: [Float]) {
        self.name = name
        self.shape = shape
        self.rows = rows
        self.values = values
    }

    public static func dense(_ name: String, shape: [Int], values: [Float]) -> TensorPart {
        TensorPart(name: name, shape: shape, rows: nil, values: values)
    }

    public static func rowSparse(_ name: String, shape: [Int], rows: [Int32], values: [Float]) -> TensorPart {
        TensorPart(name: name, shape: shape, rows: rows, values: values)
    }

    public var isSparse: Bool { rows != nil }
    /// Elements per row (product of shape[1...]; 1 for a vector).
    public var rowWidth: Int { shape.dropFirst().reduce(1, *) }
    /// Elements of the full (dense) tensor.
    public var denseCount: Int { shape.reduce(1, *) }
    /// Bytes this part puts on the wire (values plus row indices).
    public var payloadBytes: Int { values.count * 4 + (rows?.count ?? 0) * 4 }

    /// Checks the invariants above; the decoder runs it on every part it receives.
    public func validate() throws(WireError) {
        guard (1...WireLimits.maxRank).contains(shape.count) else {
            throw .badTensor("\(name): rank \(shape.count) outside 1...\(WireLimits.maxRank)")
        }
        var n = 1
        for d in shape {
            guard d >= 0 else { throw .badTensor("\(name): negative dimension") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= WireLimits.maxElements else { throw .badTensor("\(name): shape \(shape) too large") }
            n = p
        }
        if let rows {
            var prev: Int32 = -1
            for r in rows {
                guard r > prev, Int(r) < shape[0] else {
                    throw .badTensor("\(name): row index \(r) out of order or outside 0..<\(shape[0])")
                }
                prev = r
            }
            guard values.count == rows.count * rowWidth else {
                throw .badTensor("\(name): \(values.count) values for \(rows.count) rows of \(rowWidth)")
            }
        } else {
            guard values.count == n else {
                throw .badTensor("\(name): \(values.count) values for shape \(shape)")
            }
        }
    }

    /// Writes this part into `dense` (a full tensor of `denseCount` values): dense parts replace
    /// everything, sparse parts replace their rows. Used to apply weight patches.
    public func overwrite(_ dense: inout [Float]) {
        precondition(dense.count == denseCount, "\(name): size mismatch")
        guard let rows else {
            dense = values
            return
        }
        let w = rowWidth
        dense.withUnsafeMutableBufferPointer { d in
            values.withUnsafeBufferPointer { v in
                for (i, r) in rows.enumerated() {
                    let dst = d.baseAddress! + Int(r) * w
                    dst.update(from: v.baseAddress! + i * w, count: w)
                }
            }
        }
    }

    /// The dense form of this part (missing rows are zero).
    public func densified() -> TensorPart {
        guard isSparse else { return self }
        var d = [Float](repeating: 0, count: denseCount)
        overwrite(&d)
        return .dense(name, shape: shape, values: d)
    }
}

// MARK: raw frames

enum FloatFrames {
    static func bytes(_ v: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: v.count * 4)
        #if _endian(little)
        out.withUnsafeMutableBytes { dst in v.withUnsafeBytes { dst.copyMemory(from: $0) } }
        #else
        out.withUnsafeMutableBytes { d in for (i, x) in v.enumerated() { d.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) } }
        #endif
        return out
    }

    static func bytes(_ v: [Int32]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: v.count * 4)
        out.withUnsafeMutableBytes { d in
            for (i, x) in v.enumerated() { d.storeBytes(of: x.littleEndian, toByteOffset: 4 * i, as: Int32.self) }
        }
        return out
    }

    /// Floats from a frame, rejecting NaN and infinities (checked on the bit pattern).
    static func floats(_ b: [UInt8], what: String) throws(WireError) -> [Float] {
        guard b.count % 4 == 0 else { throw .badTensor("\(what): \(b.count) bytes is not a whole number of floats") }
        let n = b.count / 4
        let out = [Float](unsafeUninitializedCapacity: n) { buf, count in
            b.withUnsafeBytes { src in
                for i in 0..<n {
                    buf[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            count = n
        }
        // Exponent all ones = Inf or NaN. Branch-free scan over the whole frame.
        var bad: UInt32 = 0
        out.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: UInt32.self) { u in
                for x in u { bad |= ((x & 0x7F80_0000) == 0x7F80_0000) ? 1 : 0 }
            }
        }
        guard bad == 0 else { throw .nonFinite(what) }
        return out
    }

    static func int32s(_ b: [UInt8], what: String) throws(WireError) -> [Int32] {
        guard b.count % 4 == 0 else { throw .badTensor("\(what): \(b.count) bytes is not a whole number of indices") }
        return b.withUnsafeBytes { src in
            (0..<(b.count / 4)).map { Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
    }
}
