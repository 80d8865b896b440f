import Foundation
import IRNNumerics
import IRNSupport
import IRNWire

/// Checkpoints in a directory: `checkpoint-<version>.safetensors`, written atomically, the
/// newest `keep` kept. Each carries a checksum of its tensor bytes in its metadata, so a torn
/// or bit-rotten file is detected on load and skipped (with a message) for the next newest.
public struct CheckpointStore: Sendable {
    public let directory: URL
    public let keep: Int

    public init(directory: URL, keep: Int = 3) {
        self.directory = directory
        self.keep = max(1, keep)
    }

    static let prefix = "checkpoint-"
    static let suffix = ".safetensors"

    static func checksum(_ tensors: [String: SafetensorsTensor]) -> String {
        var sum = WireChecksum()
        for name in tensors.keys.sorted() {
            sum.update(Array(name.utf8))
            sum.update(tensors[name]!.bytes)
        }
        return String(sum.value, radix: 16)
    }

    /// Writes a checkpoint for `version` and prunes old ones. Returns its path.
    @discardableResult
    /// `checksum`: `checksum(tensors)` when the caller has it already.
    public func save(_ tensors: [String: SafetensorsTensor], version: UInt64, metadata: [String: String] = [:],
                     checksum: String? = nil) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var meta = metadata
        meta["irn_checkpoint"] = "1"
        meta["version"] = String(version)
        meta["checksum"] = checksum ?? Self.checksum(tensors)
        let url = directory.appendingPathComponent(Self.fileName(version: version))
        try SafetensorsFile(tensors: tensors, metadata: meta).write(to: url)
        let all = list()
        for old in all.dropFirst(keep) where old != url { try? FileManager.default.removeItem(at: old) }
        return url
    }

    /// The file name of the checkpoint of `version`.
    static func fileName(version: UInt64) -> String { String(format: "\(prefix)%012llu\(suffix)", version) }

    /// Removes temporary files of writes that never finished (a server killed while writing a
    /// checkpoint leaves `.checkpoint-….tmp-<pid>`; on a small disk they would add up).
    /// Called before a server starts using the directory: nobody else writes there then.
    public func removeTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for n in names where n.hasPrefix("." + Self.prefix) && n.contains(".tmp-") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(n))
        }
    }

    /// Removes checkpoints an earlier start moved aside as unreadable (`<name>.corrupt`).
    public func removeCorruptFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for n in names where n.hasPrefix(Self.prefix) && n.hasSuffix(Self.suffix + ".corrupt") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(n))
        }
    }

    /// Moves every checkpoint into a new subdirectory `replaced-<n>` (a fresh run starts
    /// without deleting the old one's files). Returns that directory, nil when there was none.
    public func moveAside() throws -> URL? {
        let files = list()
        guard !files.isEmpty else { return nil }
        let fm = FileManager.default
        var n = 1
        while fm.fileExists(atPath: directory.appendingPathComponent("replaced-\(n)").path) { n += 1 }
        let aside = directory.appendingPathComponent("replaced-\(n)")
        do {
            try fm.createDirectory(at: aside, withIntermediateDirectories: false)
            for f in files { try fm.moveItem(at: f, to: aside.appendingPathComponent(f.lastPathComponent)) }
        } catch {
            throw IRNError("cannot move the old checkpoints aside: \(error.localizedDescription)", file: aside.path)
        }
        return aside
    }

    /// Checkpoint files, newest (highest version) first.
    public func list() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix(Self.prefix) && $0.hasSuffix(Self.suffix) }
            .sorted(by: >)
            .map { directory.appendingPathComponent($0) }
    }

    /// Reads and verifies one checkpoint.
    public static func load(_ url: URL) throws -> SafetensorsFile {
        let f = try SafetensorsFile.read(from: url)
        guard f.metadata["irn_checkpoint"] == "1", let stored = f.metadata["checksum"] else {
            throw IRNError("not an IRN checkpoint (no irn_checkpoint/checksum metadata)", file: url.path)
        }
        guard stored == checksum(f.tensors) else {
            throw IRNError("checkpoint checksum mismatch (file corrupt)", file: url.path)
        }
        return f
    }

    /// The newest checkpoint that loads and verifies; corrupt ones are reported through
    /// `skipped` and passed over. nil if there is none.
    public func loadNewest(skipped: (URL, Error) -> Void) -> (url: URL, file: SafetensorsFile)? {
        for url in list() {
            do {
                return (url, try Self.load(url))
            } catch {
                skipped(url, error)
            }
        }
        return nil
    }
}
