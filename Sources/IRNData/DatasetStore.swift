#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import IRNSupport

/// On-disk form of a prepared data set, a directory holding:
/// - `sessions.bin`: a 96-byte header (magic, version, shard count, item count, per-split
///   session and event counts, checksum) then raw little-endian arrays, each padded to 8
///   bytes: item ids, then per split ids, offsets, items, times, types, shards. Loading is
///   one positioned read per array, straight into the Swift array's storage.
/// - `items.tsv`: dense index and original item id, one per line.
/// - `dataset.json`: counts per split, the options used, shard sizes, sources.
/// The directory is written under a temporary name and renamed into place when complete.
extension PreparedDataset {
    public static let binaryName = "sessions.bin"
    public static let manifestName = "dataset.json"
    public static let itemMapName = "items.tsv"
    static let magic: [UInt8] = Array("IRNSESS1".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 96

    /// dataset.json.
    public struct Manifest: Codable, Sendable {
        public var format = "irn-prepared-sessions"
        public var version = 1
        public var items: Int
        public var shards: Int
        public var train: SplitCounts
        public var test: SplitCounts
        public var trainTr: SplitCounts
        public var valid: SplitCounts
        public var options: PrepareOptions?
        public var sources: [String]
        public var trainShardSizes: [Int]
        /// `DataFingerprint` of the set (absent in sets prepared before it existed: models,
        /// checkpoints and the cluster compute it from the data then, see `fingerprint`).
        public var fingerprint: String?
        public var createdBy = "irn data prepare"

        enum CodingKeys: String, CodingKey {
            case format, version, items, shards, train, test, trainTr = "train_tr", valid, options, sources
            case trainShardSizes = "train_shard_sizes", fingerprint, createdBy = "created_by"
        }
    }

    public func manifest(sources: [String]) -> Manifest {
        let sizes = trainShardSizes
        return Manifest(items: itemCount, shards: shardCount, train: SplitCounts(train), test: SplitCounts(test),
                        trainTr: SplitCounts(trainTr), valid: SplitCounts(valid), options: options,
                        sources: sources, trainShardSizes: sizes,
                        fingerprint: DataFingerprint.compute(itemIds: itemIds, shardCount: shardCount, trainShardSizes: sizes))
    }

    /// Writes the data set to `dir` atomically: everything goes to a hidden sibling directory
    /// first, which replaces `dir` in one rename only once complete.
    public func save(to dir: URL, sources: [String] = []) throws {
        try save(to: dir, sources: sources, beforeCommit: { _ in })
    }

    /// `beforeCommit` sees the complete staging directory just before the rename (tests
    /// use it to fail there and check that nothing is left behind).
    func save(to dir: URL, sources: [String], beforeCommit: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = dir.deletingLastPathComponent()
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw IRNError("cannot create output directory: \(error.localizedDescription)", file: parent.path)
        }
        let staging = parent.appendingPathComponent(".\(dir.lastPathComponent).staging-\(getpid())")
        try? fm.removeItem(at: staging)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw IRNError("cannot create staging directory: \(error.localizedDescription)", file: staging.path)
        }
        do {
            try writeBinary(to: staging.appendingPathComponent(Self.binaryName))
            var tsv = "index\titem_id\n"
            tsv.reserveCapacity(itemIds.count * 16)
            for (i, id) in itemIds.enumerated() { tsv += "\(i)\t\(id)\n" }
            try Data(tsv.utf8).write(to: staging.appendingPathComponent(Self.itemMapName))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(manifest(sources: sources)).write(to: staging.appendingPathComponent(Self.manifestName))
            try beforeCommit(staging)
            try AtomicFile.commitDirectory(staging: staging, final: dir)
        } catch {
            try? fm.removeItem(at: staging)
            if let e = error as? IRNError { throw e }
            throw IRNError("cannot write prepared data: \(error.localizedDescription)", file: dir.path)
        }
    }

    private func writeBinary(to url: URL) throws {
        guard let f = fopen(url.path, "wb") else {
            throw IRNError("cannot create file: \(String(cString: strerror(errno)))", file: url.path)
        }
        defer { fclose(f) }
        var checksum = SectionChecksum()
        var failed = false
        func put(_ raw: UnsafeRawBufferPointer) {
            if raw.count > 0 && fwrite(raw.baseAddress!, 1, raw.count, f) != raw.count { failed = true }
            checksum.add(raw)
            let pad = (8 - raw.count % 8) % 8
            if pad > 0 {
                let zeros: (UInt64) = 0
                withUnsafeBytes(of: zeros) { z in
                    if fwrite(z.baseAddress!, 1, pad, f) != pad { failed = true }
                }
            }
        }
        func section<T>(_ a: [T]) { a.withUnsafeBytes { put($0) } }
        // Header with a placeholder checksum, rewritten at the end.
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        func setHeader(_ checksumValue: UInt64) {
            header.withUnsafeMutableBytes { h in
                for k in 0..<8 { h[k] = Self.magic[k] }
                h.storeBytes(of: Self.formatVersion.littleEndian, toByteOffset: 8, as: UInt32.self)
                h.storeBytes(of: UInt32(shardCount).littleEndian, toByteOffset: 12, as: UInt32.self)
                h.storeBytes(of: UInt64(itemCount).littleEndian, toByteOffset: 16, as: UInt64.self)
                for (k, (_, set)) in splits.enumerated() {
                    h.storeBytes(of: UInt64(set.count).littleEndian, toByteOffset: 24 + 16 * k, as: UInt64.self)
                    h.storeBytes(of: UInt64(set.eventCount).littleEndian, toByteOffset: 32 + 16 * k, as: UInt64.self)
                }
                h.storeBytes(of: checksumValue.littleEndian, toByteOffset: 88, as: UInt64.self)
            }
        }
        setHeader(0)
        header.withUnsafeBytes { _ = fwrite($0.baseAddress!, 1, Self.headerSize, f) }
        section(itemIds)
        for (_, set) in splits {
            let shards = (0..<set.count).map { UInt16(shard(ofSession: $0, in: set)) }
            section(set.ids)
            section(set.offsets)
            section(set.items)
            section(set.times)
            section(set.types)
            section(shards)
        }
        setHeader(checksum.value)
        fseek(f, 0, SEEK_SET)
        header.withUnsafeBytes { if fwrite($0.baseAddress!, 1, Self.headerSize, f) != Self.headerSize { failed = true } }
        if fflush(f) != 0 { failed = true }
        if failed { throw IRNError("write failed: \(String(cString: strerror(errno)))", file: url.path) }
    }

    /// Loads a directory written by `save(to:)`, checking sizes and the checksum.
    public static func load(from dir: URL) throws -> PreparedDataset {
        let path = dir.appendingPathComponent(binaryName).path
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            throw IRNError("cannot open prepared data: \(String(cString: strerror(errno))) (run `irn data prepare` first)", file: path)
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let fileSize = Int(st.st_size)
        var header = [UInt8](repeating: 0, count: headerSize)
        guard fileSize >= headerSize, pread(fd, &header, headerSize, 0) == headerSize else {
            throw IRNError("not a prepared data file (too short)", file: path)
        }
        guard Array(header[0..<8]) == magic else { throw IRNError("not a prepared data file (bad magic)", file: path) }
        func u32(_ at: Int) -> Int { Int(header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }) }
        func u64(_ at: Int) -> UInt64 { header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) } }
        guard u32(8) == Int(formatVersion) else {
            throw IRNError("unsupported prepared data version \(u32(8)) (this build reads \(formatVersion)); prepare again", file: path)
        }
        let shardCount = u32(12)
        let itemCount = Int(u64(16))
        var sizes: [(Int, Int)] = []
        for k in 0..<4 { sizes.append((Int(u64(24 + 16 * k)), Int(u64(32 + 16 * k)))) }
        let stored = u64(88)
        func padded(_ n: Int) -> Int { (n + 7) & ~7 }
        var expected = headerSize + padded(itemCount * 8)
        for (n, e) in sizes {
            expected += padded(n * 8) + padded((n + 1) * 8) + padded(e * 4) + padded(e * 8) + padded(e) + padded(n * 2)
        }
        guard shardCount >= 1, expected == fileSize else {
            throw IRNError("prepared data file is truncated or corrupt (size \(fileSize), expected \(expected))", file: path)
        }
        var offset = headerSize
        var checksum = SectionChecksum()
        var readError: IRNError?
        func read<T>(_ count: Int, as: T.Type) -> [T] {
            let bytes = count * MemoryLayout<T>.stride
            let a = [T](unsafeUninitializedCapacity: count) { buf, initialized in
                let raw = UnsafeMutableRawBufferPointer(buf)
                var done = 0
                while done < bytes {
                    let got = pread(fd, raw.baseAddress! + done, bytes - done, off_t(offset + done))
                    if got <= 0 { readError = IRNError("read failed: \(String(cString: strerror(errno)))", file: path); break }
                    done += got
                }
                if done < bytes { raw.baseAddress!.advanced(by: done).initializeMemory(as: UInt8.self, repeating: 0, count: bytes - done) }
                initialized = count
            }
            a.withUnsafeBytes { checksum.add($0) }
            offset += padded(bytes)
            return a
        }
        let itemIds = read(itemCount, as: Int64.self)
        var sets: [SessionSet] = []
        for (n, e) in sizes {
            let ids = read(n, as: Int64.self)
            let offsets = read(n + 1, as: Int.self)
            let items = read(e, as: Int32.self)
            let times = read(e, as: Int64.self)
            let types = read(e, as: UInt8.self)
            _ = read(n, as: UInt16.self)  // shard column: for other tools; recomputed from ids here
            sets.append(SessionSet(ids: ids, offsets: offsets, items: items, types: types, times: times))
        }
        if let e = readError { throw e }
        guard checksum.value == stored else { throw IRNError("prepared data checksum mismatch: file is corrupt; prepare again", file: path) }
        // Structural checks: cheap, and they turn a corrupt file into an error, not a crash.
        for (k, set) in sets.enumerated() {
            guard set.offsets.first == 0, set.offsets.last == set.eventCount,
                  zip(set.offsets, set.offsets.dropFirst()).allSatisfy({ $0 <= $1 }),
                  set.items.allSatisfy({ $0 >= 0 && Int($0) < itemCount }) else {
                throw IRNError("prepared data split \(k) is inconsistent", file: path)
            }
        }
        var options: PrepareOptions?
        if let data = try? Data(contentsOf: dir.appendingPathComponent(manifestName)),
           let m = try? JSONDecoder().decode(Manifest.self, from: data) {
            options = m.options
        }
        return PreparedDataset(itemIds: itemIds, train: sets[0], test: sets[1], trainTr: sets[2], valid: sets[3],
                               shardCount: shardCount, options: options)
    }
}

/// A fast 64-bit checksum over 8-byte words (sections are padded to 8 bytes with zeros).
struct SectionChecksum {
    private(set) var value: UInt64 = 0x243F_6A88_85A3_08D3

    mutating func add(_ raw: UnsafeRawBufferPointer) {
        var h = value ^ UInt64(raw.count)
        let words = raw.count / 8
        var i = 0
        while i < words {
            let w = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            h = ((h ^ w) &* 0x9E37_79B9_7F4A_7C15)
            h ^= h >> 32
            i += 1
        }
        var tail: UInt64 = 0
        for k in (words * 8)..<raw.count { tail |= UInt64(raw[k]) << (8 * UInt64(k - words * 8)) }
        h = (h ^ tail) &* 0xC2B2_AE3D_27D4_EB4F
        value = h ^ (h >> 29)
    }
}
