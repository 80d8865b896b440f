#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import IRNSupport

/// Streams a text file, plain or gzip (zlib reads plain files transparently), line by line
/// as raw bytes: no String per line, so tens of millions of lines parse in seconds.
/// A gzip stream that ends early is an error naming the file, never a silent short read.
public final class LineReader {
    public let path: String
    private var file: gzFile?
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int

    public init(path: String, bufferSize: Int = 4 << 20) throws {
        self.path = path
        // open(2) first: its errno gives a precise reason (missing, permission, directory).
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            throw IRNError("cannot open file: \(String(cString: strerror(errno)))", file: path)
        }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw IRNError("is a directory, expected a file", file: path)
        }
        close(fd)
        // gzopen by path (not gzdopen) so zlib's own messages name the file, not "<fd:3>".
        guard let f = gzopen(path, "rb") else {
            throw IRNError("cannot open file for reading: \(String(cString: strerror(errno)))", file: path)
        }
        gzbuffer(f, 1 << 20)
        file = f
        capacity = bufferSize
        buffer = .allocate(capacity: bufferSize)
    }

    deinit {
        if let f = file { gzclose_r(f) }
        buffer.deallocate()
    }

    /// Calls `body(line, lineNumber)` for every line (without its `\n` or `\r\n`);
    /// line numbers start at 1. The buffer is only valid inside the call.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        guard let f = file else { return }
        var filled = 0
        var lineNumber = 0
        var eof = false
        while !eof {
            if filled == capacity {  // one line longer than the buffer: grow it
                let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                bigger.update(from: buffer, count: filled)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            let want = min(capacity - filled, Int(Int32.max))
            let got = Int(gzread(f, buffer + filled, UInt32(want)))
            if got < 0 { throw readError(f, lineNumber) }
            if got == 0 {
                var errnum: Int32 = 0
                let msg = gzerror(f, &errnum)
                if errnum != Z_OK {
                    let text = zlibMessage(msg)
                    if errnum == Z_BUF_ERROR {
                        throw IRNError("truncated gzip file (\(text)) after line \(lineNumber)", file: path)
                    }
                    throw IRNError("read error: \(text)", file: path, line: lineNumber + 1)
                }
                eof = true
            }
            filled += got
            var start = 0
            while start < filled {
                let rest = filled - start
                guard let nl = memchr(buffer + start, 0x0A, rest) else { break }
                let end = UnsafeMutablePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - buffer
                lineNumber += 1
                var len = end - start
                if len > 0 && buffer[start + len - 1] == 0x0D { len -= 1 }
                try body(UnsafeBufferPointer(start: buffer + start, count: len), lineNumber)
                start = end + 1
            }
            if eof && start < filled {  // last line without a newline
                lineNumber += 1
                var len = filled - start
                if len > 0 && buffer[start + len - 1] == 0x0D { len -= 1 }
                try body(UnsafeBufferPointer(start: buffer + start, count: len), lineNumber)
                start = filled
            }
            if start > 0 {
                let rest = filled - start
                if rest > 0 { memmove(buffer, buffer + start, rest) }
                filled = rest
            }
        }
    }

    /// zlib's message without its "path: " prefix (the error names the file already).
    private func zlibMessage(_ msg: UnsafePointer<CChar>?) -> String {
        guard let m = msg else { return "read error" }
        let text = String(cString: m)
        let prefix = path + ": "
        return text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
    }

    private func readError(_ f: gzFile, _ lineNumber: Int) -> IRNError {
        var errnum: Int32 = 0
        let text = zlibMessage(gzerror(f, &errnum))
        if errnum == Z_BUF_ERROR || errnum == Z_DATA_ERROR {
            return IRNError("corrupt or truncated gzip file (\(text)) after line \(lineNumber)", file: path)
        }
        if errnum == Z_ERRNO {
            return IRNError("read error: \(String(cString: strerror(errno)))", file: path, line: lineNumber + 1)
        }
        return IRNError("read error: \(text)", file: path, line: lineNumber + 1)
    }
}
