import XCTest
import IRNNumerics
import IRNData
import IRNEvaluation
@testable import IRNBaselines

final class PersistenceTests: XCTestCase {
    /// Every baseline survives encode/decode with identical scores.
    func testRoundTripKeepsScores() throws {
        let train = sessionSet([[0, 1, 2], [2, 3], [3, 4, 0, 1], [5, 4], [1, 5, 2]])
        var bc = BPRModel.Config(); bc.factors = 4; bc.epochs = 2
        var gc = GRU4RecModel.Config(); gc.hidden = 6; gc.batchSize = 2; gc.epochs = 2
        let gt = GRU4RecTrainer(itemCount: 6, config: gc)
        gt.train(train)
        let models: [any Recommender] = [
            PopularityModel(train: train, itemCount: 6),
            SessionRepeatModel(train: train, itemCount: 6),
            BPRModel.train(train, itemCount: 6, config: bc),
            SessionKNNModel(train: train, itemCount: 6, config: .init(k: 2, sampleSize: 3, similarity: .referenceCosine)),
            gt.model,
        ]
        for m in models {
            let back = try BaselinePersistence.load(ModelArchive.decode(try BaselinePersistence.archive(m).encoded()))
            XCTAssertEqual(back.itemCount, 6)
            for feed: [Int32] in [[0], [2, 3, 2], [5, -1]] {
                XCTAssertEqual(scores(back, after: feed), scores(m, after: feed), "\(type(of: m)) after \(feed)")
            }
        }
    }

    func testCorruptFilesAreRejected() throws {
        let a = try BaselinePersistence.archive(PopularityModel(counts: [1, 2, 3]))
        let data = try a.encoded()
        XCTAssertThrowsError(try ModelArchive.decode(data.prefix(data.count - 4)))
        XCTAssertThrowsError(try ModelArchive.decode(Data("not a model".utf8)))
        var wrong = a
        wrong.meta["item_count"] = "4"
        XCTAssertThrowsError(try BaselinePersistence.load(wrong))
    }

    func testModelFilesAreSafetensorsThatSayWhatTheyHold() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("irn-baseline-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let a = try BaselinePersistence.archive(PopularityModel(counts: [1, 2, 3]))
        try a.save(to: url)
        let meta = try XCTUnwrap(SafetensorsFile.metadata(of: url))
        XCTAssertEqual(meta["format"], ModelArchive.formatName)
        XCTAssertEqual(meta["kind"], "pop")
        XCTAssertEqual(try SafetensorsFile.read(from: url).tensors.keys.sorted(), a.arrays.keys.sorted())
        XCTAssertEqual(try ModelArchive.load(from: url).arrays, a.arrays)
        var clash = a
        clash.meta["kind"] = "spop"
        XCTAssertThrowsError(try clash.encoded()) { XCTAssertTrue("\($0)".contains("reserved")) }
        // An agent-style safetensors file is not taken for a baseline.
        try SafetensorsFile(tensors: [:], metadata: ["format": "irn-agent"]).write(to: url)
        XCTAssertThrowsError(try ModelArchive.load(from: url)) { XCTAssertTrue("\($0)".contains("not a baseline model file")) }
    }
}
