import Foundation
import XCTest
import IRNSupport
@testable import IRNNumerics

final class SafetensorsTests: XCTestCase {
    private func sample() -> SafetensorsFile {
        var rng = RandomSource(seed: 7)
        let w = (0..<12).map { _ in rng.nextFloat() * 2 - 1 }
        var f = SafetensorsFile()
        f["lstm.w"] = SafetensorsTensor(floats: w, shape: [3, 4])
        f["step"] = SafetensorsTensor(int64s: [123_456_789_012], shape: [])
        f["progress"] = SafetensorsTensor(int32s: [5, -1, 7], shape: [3])
        f["flags"] = SafetensorsTensor(uint8s: [1, 0, 255], shape: [3])
        f["empty"] = SafetensorsTensor(floats: [], shape: [0, 4])
        f.metadata = ["algo": "irn-p", "quote": "a \"b\"\n\\c"]
        return f
    }

    private func tmpURL(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("irn-st-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    func testRoundTripThroughFile() throws {
        let f = sample()
        let url = tmpURL("round.safetensors")
        try f.write(to: url)
        let g = try SafetensorsFile.read(from: url)
        XCTAssertEqual(f, g)
        XCTAssertEqual(try g["lstm.w"]!.floats(), try f["lstm.w"]!.floats())
        XCTAssertEqual(try g["step"]!.int64s(), [123_456_789_012])
        XCTAssertEqual(g.metadata["quote"], "a \"b\"\n\\c")
        XCTAssertThrowsError(try g["step"]!.floats())
    }

    func testLayoutIsTheRealFormat() throws {
        let data = sample().encoded()
        let bytes = [UInt8](data)
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        XCTAssertEqual(n % 8, 0)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        let w = header["lstm.w"] as! [String: Any]
        XCTAssertEqual(w["dtype"] as? String, "F32")
        XCTAssertEqual((w["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }, [3, 4])
        let off = (w["data_offsets"] as! [Any]).map { ($0 as! NSNumber).intValue }
        // The float at data_offsets[0] is the first element, little-endian.
        let first = UInt32(bytes[8 + n + off[0]]) | UInt32(bytes[8 + n + off[0] + 1]) << 8
            | UInt32(bytes[8 + n + off[0] + 2]) << 16 | UInt32(bytes[8 + n + off[0] + 3]) << 24
        XCTAssertEqual(Float(bitPattern: first), try sample()["lstm.w"]!.floats()[0])
        XCTAssertEqual(data.count, 8 + n + 12 * 4 + 8 + 3 * 4 + 3)
    }

    /// Replaces the JSON header of a valid file by `json` (data block unchanged).
    private func withHeader(_ json: String, data: [UInt8]) -> Data {
        var out = Data()
        let h = Array(json.utf8)
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: h)
        out.append(contentsOf: data)
        return out
    }

    private func assertRejected(_ data: Data, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafetensorsFile.decode(data, source: "x.safetensors"), file: file, line: line) { err in
            let text = "\(err)"
            XCTAssertTrue(text.contains("x.safetensors"), text, file: file, line: line)
            XCTAssertTrue(text.contains(mentions), "expected '\(mentions)' in: \(text)", file: file, line: line)
        }
    }

    func testCorruptFilesAreRejectedWithClearErrors() throws {
        let good = sample().encoded()
        // Too short for the length field.
        assertRejected(good.prefix(5), mentions: "shorter than the 8-byte")
        // Header length absurd / beyond the file.
        var huge = good
        huge.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        assertRejected(huge, mentions: "header length")
        var beyond = good
        beyond.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(good.count).littleEndian) { Array($0) })
        assertRejected(beyond, mentions: "exceeds the file")
        // Bad JSON.
        let floats: [UInt8] = Array(repeating: 0, count: 16)
        assertRejected(withHeader("{\"a\": {\"dtype\": \"F32\", ", data: floats), mentions: "not a JSON object")
        assertRejected(withHeader("[1,2]", data: floats), mentions: "not a JSON object")
        // Unknown dtype.
        assertRejected(withHeader(#"{"a":{"dtype":"BF16","shape":[8],"data_offsets":[0,16]}}"#, data: floats),
                       mentions: "unsupported dtype BF16")
        // Shape disagrees with offsets.
        assertRejected(withHeader(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: floats),
                       mentions: "needs 12 bytes")
        // Gap between tensors, overlap, trailing bytes.
        assertRejected(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: Array(floats.prefix(12))),
                       mentions: "contiguous")
        assertRejected(withHeader(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: Array(floats.prefix(12))),
                       mentions: "contiguous")
        assertRejected(withHeader(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: floats),
                       mentions: "data block holds 16")
        // Bad shape / offsets types, metadata not strings.
        assertRejected(withHeader(#"{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#, data: floats),
                       mentions: "non-negative integers")
        assertRejected(withHeader(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}}"#, data: floats),
                       mentions: "two integers")
        assertRejected(withHeader(#"{"__metadata__":{"k":3},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: floats),
                       mentions: "not a string")
        // Truncated data: every cut of a valid file must fail, never crash.
        for cut in stride(from: 8, to: good.count, by: 3) {
            XCTAssertThrowsError(try SafetensorsFile.decode(good.prefix(cut)), "cut at \(cut)")
        }
        assertRejected(good.prefix(good.count - 1), mentions: "truncated")
    }

    func testPythonNumpyCanReadIt() throws {
        let url = tmpURL("py.safetensors")
        try sample().write(to: url)
        let script = """
        import json, struct, sys
        import numpy as np
        b = open(sys.argv[1], 'rb').read()
        n = struct.unpack('<Q', b[:8])[0]
        h = json.loads(b[8:8+n])
        d = b[8+n:]
        e = h['lstm.w']; s, t = e['data_offsets']
        w = np.frombuffer(d[s:t], dtype='<f4').reshape(e['shape'])
        e = h['step']; s, t = e['data_offsets']
        st = np.frombuffer(d[s:t], dtype='<i8')
        print(repr(float(w[2, 3])), int(st[0]), h['__metadata__']['algo'])
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, url.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        do { try p.run() } catch { throw XCTSkip("python3 not available: \(error)") }
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if p.terminationStatus != 0 { throw XCTSkip("python3 with numpy not available") }
        let parts = text.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(parts.count, 3)
        XCTAssertEqual(Float(Double(parts[0])!), try sample()["lstm.w"]!.floats()[11])
        XCTAssertEqual(parts[1], "123456789012")
        XCTAssertEqual(parts[2], "irn-p")
    }
}
