#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import IRNSupport

/// Buffered writer of text bytes to a plain or gzip file, with fast integer and
/// ISO-8601 formatting (no String per line).
final class ByteWriter {
    let path: String
    private var plain: UnsafeMutablePointer<FILE>?
    private var gz: gzFile?
    private var buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 22
    private var used = 0

    init(path: String, gzip: Bool) throws {
        self.path = path
        buffer = .allocate(capacity: capacity)
        if gzip {
            // Level 1: gzip output mostly for size; level 6 would triple the writing time.
            guard let g = gzopen(path, "wb1") else {
                buffer.deallocate()
                throw IRNError("cannot create file: \(String(cString: strerror(errno)))", file: path)
            }
            gzbuffer(g, 1 << 20)
            gz = g
        } else {
            guard let f = fopen(path, "wb") else {
                buffer.deallocate()
                throw IRNError("cannot create file: \(String(cString: strerror(errno)))", file: path)
            }
            plain = f
        }
    }

    deinit {
        if let f = plain { fclose(f) }
        if let g = gz { gzclose(g) }
        buffer.deallocate()
    }

    func flush() throws {
        if used == 0 { return }
        if let f = plain {
            if fwrite(buffer, 1, used, f) != used { throw IRNError("write failed: \(String(cString: strerror(errno)))", file: path) }
        } else if let g = gz {
            if gzwrite(g, buffer, UInt32(used)) != Int32(used) { throw IRNError("gzip write failed", file: path) }
        }
        used = 0
    }

    func close() throws {
        try flush()
        if let f = plain {
            plain = nil
            if fclose(f) != 0 { throw IRNError("close failed: \(String(cString: strerror(errno)))", file: path) }
        }
        if let g = gz {
            gz = nil
            if gzclose(g) != Z_OK { throw IRNError("gzip close failed", file: path) }
        }
    }

    /// Makes room for `n` more bytes.
    @inline(__always)
    func reserve(_ n: Int) throws {
        if used + n > capacity { try flush() }
    }

    @inline(__always)
    func byte(_ b: UInt8) {
        buffer[used] = b
        used += 1
    }

    @inline(__always)
    func int(_ v: Int64) {
        var x = v
        if x < 0 { byte(0x2D); x = -x }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch
        withUnsafeMutableBytes(of: &tmp) { t in
            var n = 0
            repeat {
                t[n] = UInt8(48 + x % 10)
                x /= 10
                n += 1
            } while x > 0
            while n > 0 { n -= 1; byte(t[n]) }
        }
    }

    @inline(__always)
    func digits(_ v: Int, _ n: Int) {
        var d = 1
        for _ in 1..<n { d *= 10 }
        var x = v
        for _ in 0..<n {
            byte(UInt8(48 + x / d))
            x %= d
            d /= 10
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch (non-negative).
    @inline(__always)
    func iso8601(_ ms: Int64) {
        let millis = Int(ms % 1000)
        let secs = Int(ms / 1000)
        let days = secs / 86_400
        let rem = secs % 86_400
        let (y, m, d) = ByteWriter.civil(fromDays: days)
        digits(y, 4); byte(0x2D); digits(m, 2); byte(0x2D); digits(d, 2); byte(0x54)
        digits(rem / 3600, 2); byte(0x3A); digits(rem / 60 % 60, 2); byte(0x3A); digits(rem % 60, 2)
        byte(0x2E); digits(millis, 3); byte(0x5A)
    }

    /// Inverse of `FieldParsing.daysFromCivil` (H. Hinnant's algorithm).
    @inline(__always)
    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
