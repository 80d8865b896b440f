import ArgumentParser
import XCTest
@testable import IRNCommands

/// The command-line half of `CommandMain`: a negative number after a long option is its
/// value (ArgumentParser alone read `-1` as a flag and said "Missing value"), so the
/// command's own range check names the flag.
final class CommandMainTests: XCTestCase {
    func testNegativeNumbersAfterALongOptionBecomeItsValue() {
        XCTAssertEqual(CommandMain.joiningNegativeValues(["train", "--epochs", "-1", "--lr", "-0.5", "--gamma", "-.5"]),
                       ["train", "--epochs=-1", "--lr=-0.5", "--gamma=-.5"])
        // Flags, short options, words that are not numbers and everything after `--` stay.
        XCTAssertEqual(CommandMain.joiningNegativeValues(["--json", "-h", "--out", "-x", "--", "--a", "-1"]),
                       ["--json", "-h", "--out", "-x", "--", "--a", "-1"])
        XCTAssertEqual(CommandMain.joiningNegativeValues(["--epochs=-1", "--seed", "-"]), ["--epochs=-1", "--seed", "-"])
    }

    func testNegativeEpochsReachTheRangeCheck() throws {
        let args = CommandMain.joiningNegativeValues(["--data", "d", "--out", "m", "--epochs", "-1"])
        XCTAssertThrowsError(try TrainCommand.parse(args)) { error in
            XCTAssertEqual(TrainCommand.exitCode(for: error), .validationFailure)
            XCTAssertTrue(TrainCommand.message(for: error).contains("--epochs must be at least 1"), TrainCommand.message(for: error))
        }
    }

    func testHelpCommandNamesTheSubcommand() {
        XCTAssertEqual(CommandMain.helpCommand(IRNRoot.self, ["data", "prepare", "--days", "-1"]), "irn data prepare --help")
        XCTAssertEqual(CommandMain.helpCommand(IRNRoot.self, ["--bogus"]), "irn --help")
        XCTAssertEqual(CommandMain.helpCommand(ActorCommand.self, ["--threads", "0"]), "irn-actor --help")
    }
}
