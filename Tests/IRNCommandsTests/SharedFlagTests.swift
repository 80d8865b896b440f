import ArgumentParser
import XCTest
import IRNData
@testable import IRNCommands

/// The flags `irn train` and `irn-server` share have one spelling, one type and one check.
final class SharedFlagTests: XCTestCase {
    private let train = ["--data", "d", "--out", "m.safetensors"]
    private let server = ["--data", "d"]

    func testTrainAndServerSpellTrainingSetFlagsAlike() throws {
        for d in ["0", "0.05", "1"] {
            let t = try TrainCommand.parse(train + ["--reward-density", d, "--train-split", "train"])
            let s = try ServerCommand.parse(server + ["--reward-density", d, "--train-split", "train"])
            XCTAssertEqual(t.trainingSet.rewardDensity, Double(d))
            XCTAssertEqual(s.trainingSet.rewardDensity, Double(d), "the server accepts d = \(d) (Table 2's d = 0 included)")
            XCTAssertEqual(t.trainingSet.trainSplit, .train)
            XCTAssertEqual(s.trainingSet.trainSplit, .train)
        }
        for bad in [["--reward-density", "1.5"], ["--reward-density", "-0.1"], ["--train-split", "valid"]] {
            XCTAssertThrowsError(try TrainCommand.parse(train + bad), "irn train \(bad)")
            XCTAssertThrowsError(try ServerCommand.parse(server + bad), "irn-server \(bad)")
        }
        for old in [["--d", "0.5"], ["--train-on", "train"]] {
            XCTAssertThrowsError(try TrainCommand.parse(train + old), "\(old[0]) is not a flag (one spelling: --reward-density, --train-split)")
        }
    }

    func testDefaultSplitFollowsTheEvaluationSplit() throws {
        XCTAssertEqual(try ServerCommand.parse(server).trainingSet.split(evaluatingOn: "valid"), .trainTr)
        XCTAssertEqual(try ServerCommand.parse(server + ["--eval-split", "test"]).trainingSet.split(evaluatingOn: "test"), .train)
        XCTAssertEqual(try TrainCommand.parse(train + ["--train-split", "train"]).trainingSet.split(evaluatingOn: "valid"), .train)
    }

    func testSelfTestIsAFlagAndNeedsNoData() throws {
        XCTAssertTrue(try ServerCommand.parse(["--self-test", "--sessions", "10"]).selfTest)
        XCTAssertThrowsError(try ServerCommand.parse(["--algo", "visit-count"]), "visit-count is not an algorithm")
        XCTAssertThrowsError(try ServerCommand.parse(["--algo", "irn-p"]), "an agent needs --data")
        XCTAssertTrue(ServerCommand.helpMessage().contains("--self-test"))
    }

    func testShardsPerLeaseIsAutoACountOrEveryShard() throws {
        XCTAssertEqual(try ServerCommand.parse(server).shardsPerLease, .auto)
        let sample = Array(repeating: UInt64(55), count: 64)
        XCTAssertEqual(try ServerCommand.parse(server).shardsPerLease.shards(of: sample, slots: 128), 19)  // ceil(8 x 128 / 55)
        XCTAssertEqual(try ServerCommand.parse(server + ["--shards-per-lease", "3"]).shardsPerLease.shards(of: sample, slots: 128), 3)
        XCTAssertEqual(try ServerCommand.parse(server + ["--shards-per-lease", "0"]).shardsPerLease.shards(of: sample, slots: 128), 64)
        for bad in ["-1", "many", ""] {
            XCTAssertThrowsError(try ServerCommand.parse(server + ["--shards-per-lease", bad]), bad)
        }
    }
}
