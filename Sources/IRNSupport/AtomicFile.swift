#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes that never leave a half-written file under the final name: data goes to a
/// temporary sibling, is flushed to disk, then renamed over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        // Checked first so the error names the file asked for, not the temporary sibling.
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw IRNError("cannot write: the folder \(folder.path) does not exist", file: url.path)
        }
        let tmp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw IRNError("cannot create a file in \(folder.path): \(String(cString: strerror(errno)))", file: url.path)
        }
        let handle = try FileHandle(forWritingTo: tmp)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: tmp)
            throw IRNError("write failed: \(error)", file: tmp.path)
        }
        if rename(tmp.path, url.path) != 0 {
            let err = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw IRNError("rename failed: \(err)", file: url.path)
        }
    }

    /// Replaces directory `final` by a fully written `staging` directory in one rename
    /// (the old one, if any, is removed after the new one is in place).
    public static func commitDirectory(staging: URL, final: URL) throws {
        let fm = FileManager.default
        var old: URL?
        if fm.fileExists(atPath: final.path) {
            let o = final.deletingLastPathComponent()
                .appendingPathComponent(".\(final.lastPathComponent).old-\(getpid())")
            try? fm.removeItem(at: o)
            try fm.moveItem(at: final, to: o)
            old = o
        }
        if rename(staging.path, final.path) != 0 {
            let err = String(cString: strerror(errno))
            if let o = old { try? fm.moveItem(at: o, to: final) }
            throw IRNError("rename failed: \(err)", file: final.path)
        }
        if let o = old { try? fm.removeItem(at: o) }
    }
}
