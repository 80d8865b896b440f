import Foundation
import XCTest
@testable import IRNData
import IRNSupport

/// The data fingerprint: in dataset.json, computed for sets prepared before it existed, and
/// different for the same counts with other items or another shard layout.
final class DataFingerprintTests: XCTestCase {
    private func sample(itemBase: Int64 = 11, shards: Int = 8) -> PreparedDataset {
        var rng = RandomSource(seed: 5)
        func set(_ n: Int, idBase: Int64) -> SessionSet {
            var s = SessionSet()
            for k in 0..<n {
                let len = 2 + rng.nextInt(below: 5)
                s.append(id: idBase + Int64(k), items: (0..<len).map { _ in Int32(rng.nextInt(below: 7)) },
                         types: (0..<len).map { _ in UInt8(rng.nextInt(below: 2)) },
                         times: (0..<len).map { Int64(1_400_000_000_000 + k * 1000 + $0) })
            }
            return s
        }
        return PreparedDataset(itemIds: (0..<7).map { itemBase + Int64($0) }, train: set(40, idBase: 1000), test: set(9, idBase: 5000),
                               trainTr: set(31, idBase: 1000), valid: set(0, idBase: 0), shardCount: shards)
    }

    func testManifestCarriesTheFingerprintAndOldSetsGetItOnLoad() throws {
        let f = TestFiles()
        let d = sample()
        XCTAssertEqual(d.fingerprint.count, 16)
        try d.save(to: f.url("out"))
        let manifestURL = f.url("out").appendingPathComponent(PreparedDataset.manifestName)
        let manifest = try JSONDecoder().decode(PreparedDataset.Manifest.self, from: Data(contentsOf: manifestURL))
        XCTAssertEqual(manifest.fingerprint, d.fingerprint)
        // A set prepared before the fingerprint existed: dataset.json without the key.
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        json["fingerprint"] = nil
        try JSONSerialization.data(withJSONObject: json).write(to: manifestURL)
        XCTAssertNil(try JSONDecoder().decode(PreparedDataset.Manifest.self, from: Data(contentsOf: manifestURL)).fingerprint)
        XCTAssertEqual(try PreparedDataset.load(from: f.url("out")).fingerprint, d.fingerprint)
    }

    func testSameCountsOtherItemsOrShardsGiveAnotherFingerprint() {
        let d = sample()
        XCTAssertEqual(sample().fingerprint, d.fingerprint, "deterministic")
        let otherItems = sample(itemBase: 12)
        XCTAssertEqual(otherItems.itemCount, d.itemCount)
        XCTAssertNotEqual(otherItems.fingerprint, d.fingerprint)
        XCTAssertNotEqual(sample(shards: 9).fingerprint, d.fingerprint)
        // Swapping two items' ids keeps the set of ids but not the map.
        var ids = d.itemIds
        ids.swapAt(0, 1)
        let swapped = PreparedDataset(itemIds: ids, train: d.train, test: d.test, trainTr: d.trainTr, valid: d.valid, shardCount: d.shardCount)
        XCTAssertNotEqual(swapped.fingerprint, d.fingerprint)
    }
}
