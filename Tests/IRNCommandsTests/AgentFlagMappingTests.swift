import ArgumentParser
import XCTest
import IRNAgents
@testable import IRNCommands

/// Every agent flag must reach `AgentConfig`: a flag whose mapping line is forgotten compiles,
/// parses and then silently changes nothing. Each stored flag of `AgentOptions` and
/// `HeadOptions` needs a row here (a new flag without one fails), and each row's value must
/// change the config.
final class AgentFlagMappingTests: XCTestCase {
    /// Flag property (as Mirror names it) -> arguments that set it to a non-default value.
    static let agentRows: [String: [String]] = [
        "algo": ["--algo", "a3c-f"], "hidden": ["--hidden", "32"], "batch": ["--batch", "16"],
        "window": ["--window", "4"], "nStep": ["--n-step", "2"], "gamma": ["--gamma", "0.9"],
        "purchaseReward": ["--purchase-reward", "3"], "clickReward": ["--click-reward", "0.5"],
        "criticSteps": ["--critic-steps", "purchase"], "baseline": ["--baseline", "none"],
        "advantageFloor": ["--advantage-floor", "0"], "valueWeight": ["--value-weight", "0.05"],
        "entropy": ["--entropy", "0.01"], "lossReduction": ["--loss-reduction", "sum"], "policyMeanOver": ["--policy-mean-over", "steps"],
        "irnWeight": ["--irn-weight", "0.5"], "clickWeight": ["--click-weight", "0.5"], "clickScope": ["--click-scope", "all"], "averageWeights": ["--average-weights", "0.99"], "forgetBias": ["--forget-bias", "0"],
        "targetEvery": ["--target-every", "100"], "targetUnit": ["--target-unit", "updates"],
        "breadth": ["--breadth", "1"], "depth": ["--depth", "3"], "lr": ["--lr", "0.01"],
        "beta1": ["--adam-beta1", "0.8"], "beta2": ["--adam-beta2", "0.99"], "eps": ["--adam-eps", "1e-6"],
        "denseAdam": ["--dense-adam"], "seed": ["--seed", "9"],
        "policyHead": ["--head", "repeat"],
    ]

    /// Repeat-head flags, each on top of `--head repeat` (`next...`: of `--head repeat-next`).
    static let headRows: [String: [String]] = [
        "head": ["--head", "repeat"], "repeatFeatures": ["--repeat-features", "session,last"],
        "repeatGate": ["--repeat-gate", "constant"], "repeatGateInit": ["--repeat-gate-init", "1,2,3,4"],
        "nextFeatures": ["--next-features", "last,follow"], "nextFollowers": ["--next-followers", "7"],
        "nextGateInit": ["--next-gate-init", "1,0,0,2"], "nextSessionSource": ["--next-session-source", "cooccurrence"],
    ]

    private static func flagNames(_ value: Any) -> Set<String> {
        Set(Mirror(reflecting: value).children.compactMap { $0.label.map { $0.hasPrefix("_") ? String($0.dropFirst()) : $0 } })
    }

    private func config(_ args: [String]) throws -> AgentConfig {
        try AgentOptions.parse(args).config(items: 50)
    }

    func testEveryAgentFlagHasARowAndChangesTheConfig() throws {
        let defaults = try AgentOptions.parse([])
        XCTAssertEqual(Self.flagNames(defaults), Set(Self.agentRows.keys), "every AgentOptions flag needs a row (and no row without a flag)")
        let base = try config([])
        for (flag, args) in Self.agentRows.sorted(by: { $0.key < $1.key }) {
            XCTAssertNotEqual(try config(args), base, "\(args.joined(separator: " ")) did not reach AgentConfig (\(flag))")
        }
    }

    func testEveryHeadFlagHasARowAndChangesTheConfig() throws {
        XCTAssertEqual(Self.flagNames(try HeadOptions.parse([])), Set(Self.headRows.keys))
        let plain = try config([]), repeatHead = try config(["--head", "repeat"])
        XCTAssertNotEqual(repeatHead, plain)
        let nextHead = try config(["--head", "repeat-next"])
        XCTAssertNotEqual(nextHead, repeatHead)
        for (flag, args) in Self.headRows where flag != "head" {
            let (head, base) = flag.hasPrefix("next") ? ("repeat-next", nextHead) : ("repeat", repeatHead)
            XCTAssertNotEqual(try config(["--head", head] + args), base, "\(flag) did not reach AgentConfig")
            XCTAssertThrowsError(try config(args), "\(flag) without --head \(head) must be refused")
            if head == "repeat-next" { XCTAssertThrowsError(try config(["--head", "repeat"] + args), "\(flag) needs repeat-next") }
        }
    }
}
