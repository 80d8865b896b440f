import XCTest
import IRNData
import IRNNumerics
import IRNSupport
@testable import IRNAgents

/// Bit-identity guard: the parameters after a few iterations of every algorithm hash to
/// recorded values. A change that only reorganises code must keep every hash; a change that
/// changes a number must record new values and say so.
///
/// OpenBLAS picks its kernels by CPU ("core"), and different kernels round differently, so
/// the values are recorded per core. On a core with no recorded values the tests skip and
/// print the values to record.
final class RepeatPlainHeadUnchangedTests: XCTestCase {
    static func fingerprint(_ p: NetworkParameters) -> UInt64 {
        var h: UInt64 = 0
        for t in p.tensors {
            t.withUnsafeBytes { h = h &* 0x9E37_79B9_7F4A_7C15 ^ StableHash.fnv1a(bytes: $0) }
        }
        return h
    }

    static func run(_ algo: Algorithm, entropy: Float, head: PolicyHead = .plain, density: Double = 1, otherOptions: Bool = false) throws -> NetworkParameters {
        var config = tinyConfig(algo)
        config.entropy = entropy
        config.targetEvery = 4
        config.adam.learningRate = 5e-3
        config.head = head
        if otherOptions {
            config.lossReduction = .sum
            config.criticSteps = .purchase
            config.baseline = .none
            config.advantageFloor = 0
            config.valueWeight = 0.5
            config.irnWeight = 1
            config.breadth = 1
            config.depth = 3
        }
        let agent = try Agent(config: config)
        for w in firstWindows(config, count: 7, density: density) { try agent.iterate(w) }
        return agent.parameters
    }

    /// Recorded values, by lowercased OpenBLAS core name, then by case key
    /// ("<head>/<density>/<algorithm>/<entropy>[/options]").
    static let recorded: [String: [String: UInt64]] = [
        // Plain head, density 1, recorded before the repeat head existed.
        "haswell": [
            "plain/1.0/a3c-f/0.0": 0xa290e5ffc42a6346, "plain/1.0/a3c-f/0.01": 0x182ffcd06b1325dd,
            "plain/1.0/a3c-p/0.0": 0xdc1c330c3f1667ef, "plain/1.0/a3c-p/0.01": 0x6ba7ffb0f3041bfc,
            "plain/1.0/irn-f/0.0": 0xacb42410d8da57e6, "plain/1.0/irn-f/0.01": 0x751f2c0f85aa0e4d,
            "plain/1.0/irn-p/0.0": 0x0f00367406f66290, "plain/1.0/irn-p/0.01": 0x77a65d8506553537,
            "plain/1.0/prn-p/0.0": 0x904b46dce3c5639b, "plain/1.0/prn-p/0.01": 0xd269e466325050d2,
        ],
        // Every case, recorded on commit 2fb0915 (before the numerics/agents restructuring).
        "cooperlake": [
            "plain/1.0/a3c-f/0.0": 0xa2eb93461c750686, "plain/1.0/a3c-f/0.01": 0x10c7b6ff03b6fc73,
            "plain/1.0/a3c-p/0.0": 0x49163b49a485b9a1, "plain/1.0/a3c-p/0.01": 0xab23bc1aa77104f3,
            "plain/1.0/irn-f/0.0": 0xb6498655d39ad39a, "plain/1.0/irn-f/0.01": 0x19530d39064a40cc,
            "plain/1.0/irn-p/0.0": 0x1e6b2a028501ca8e, "plain/1.0/irn-p/0.01": 0x85efae42bee32701,
            "plain/1.0/prn-p/0.0": 0xac335d97c20b66a7, "plain/1.0/prn-p/0.01": 0x9106e8c89ae106a0,
            "repeat/1.0/a3c-f/0.0": 0xff0c9534709ceec7, "repeat/1.0/a3c-f/0.01": 0x74a69f1cad3ad2ea,
            "repeat/1.0/a3c-p/0.0": 0xf0b4fd0f25c00838, "repeat/1.0/a3c-p/0.01": 0x271ee2a645ea2207,
            "repeat/1.0/irn-f/0.0": 0x16499e49a289490b, "repeat/1.0/irn-f/0.01": 0x1c287f64ec9d922a,
            "repeat/1.0/irn-p/0.0": 0xc2b475f798552106, "repeat/1.0/irn-p/0.01": 0xf5b0e826fe169115,
            "repeat/1.0/prn-p/0.0": 0xb648de745f7ec766, "repeat/1.0/prn-p/0.01": 0x33424d79faa3411e,
            "plain/0.5/a3c-f/0.0": 0x7471a3a8b01fcdec, "plain/0.5/a3c-f/0.01": 0x8739ba2980f7f1b9,
            "plain/0.5/a3c-p/0.0": 0xfb880ce71e881a76, "plain/0.5/a3c-p/0.01": 0x8745a2c301982940,
            "plain/0.5/irn-f/0.0": 0x644e3b8de6fe4695, "plain/0.5/irn-f/0.01": 0x58594a3e4d898361,
            "plain/0.5/irn-p/0.0": 0x54fd8301d4b679dc, "plain/0.5/irn-p/0.01": 0x6a54e8e09729d1cc,
            "plain/0.5/prn-p/0.0": 0x4b1b6bc2debbb83c, "plain/0.5/prn-p/0.01": 0x1dfee58b6a0ea833,
            "plain/1.0/a3c-f/0.0/options": 0xaedb4b59925e84e7, "plain/1.0/a3c-f/0.01/options": 0x5870da812ae910c0,
            "plain/1.0/a3c-p/0.0/options": 0x93db27d577ca864a, "plain/1.0/a3c-p/0.01/options": 0xc36d7e50227d80fd,
            "plain/1.0/irn-f/0.0/options": 0x356b329786b1b586, "plain/1.0/irn-f/0.01/options": 0xef0f7617d334940f,
            "plain/1.0/irn-p/0.0/options": 0x9633bd8d80c70d05, "plain/1.0/irn-p/0.01/options": 0x0d652d8a8ee14eac,
            "plain/1.0/prn-p/0.0/options": 0x9b7a8714162f3626, "plain/1.0/prn-p/0.01/options": 0x6319e852021caf2d,
        ],
    ]

    struct Case {
        var head: PolicyHead, density: Double, algo: Algorithm, entropy: Float, otherOptions = false
        var key: String {
            "\(head.isRepeat ? "repeat" : "plain")/\(density)/\(algo.rawValue)/\(entropy)" + (otherOptions ? "/options" : "")
        }
    }

    static func cases(head: PolicyHead, density: Double, otherOptions: Bool = false) -> [Case] {
        Algorithm.allCases.flatMap { algo in
            [Float(0), 0.01].map { Case(head: head, density: density, algo: algo, entropy: $0, otherOptions: otherOptions) }
        }
    }

    /// Checks each case against this core's recorded values; skips (printing the values to
    /// record) when this core has none for these cases.
    func check(_ cases: [Case], tensors: Int) throws {
        let core = BLAS.coreName
        let table = Self.recorded[core.lowercased()] ?? [:]
        var computed: [(String, UInt64)] = []
        for c in cases {
            let p = try Self.run(c.algo, entropy: c.entropy, head: c.head, density: c.density, otherOptions: c.otherOptions)
            XCTAssertEqual(p.tensors.count, tensors, c.key)
            computed.append((c.key, Self.fingerprint(p)))
        }
        let missing = computed.filter { table[$0.0] == nil }
        if missing.count == computed.count {
            let lines = computed.map { "\"\($0.0)\": 0x\(String($0.1, radix: 16, uppercase: false))," }.joined(separator: "\n")
            throw XCTSkip("no fingerprints recorded for OpenBLAS core \(core) (recorded: \(Self.recorded.keys.sorted())); values on this code:\n\(lines)")
        }
        XCTAssertTrue(missing.isEmpty, "core \(core): cases without a recorded value: \(missing.map(\.0))")
        for (key, f) in computed where table[key] != nil {
            XCTAssertEqual(f, table[key], "core \(core): \(key)")
        }
    }

    func testPlainHeadParametersAreBitIdenticalToTheRecordedOnes() throws {
        try check(Self.cases(head: .plain, density: 1), tensors: 7)
    }

    func testRepeatHeadParametersAreBitIdenticalToTheRecordedOnes() throws {
        try check(Self.cases(head: .repeatAware(), density: 1), tensors: 9)
    }

    func testReducedRewardDensityParametersAreBitIdenticalToTheRecordedOnes() throws {
        // The stream must differ from density 1, else this case guards nothing new.
        let config = tinyConfig(.irnP)
        XCTAssertNotEqual(firstWindows(config, count: 7, density: 0.5).map(\.targetIsPurchase),
                          firstWindows(config, count: 7, density: 1).map(\.targetIsPurchase))
        try check(Self.cases(head: .plain, density: 0.5), tensors: 7)
    }

    /// The loss options off their defaults (sum reduction, critic at purchases, no baseline,
    /// advantage floor, value weight, IRN weight 1, breadth 1 depth 3).
    func testOtherLossOptionsParametersAreBitIdenticalToTheRecordedOnes() throws {
        try check(Self.cases(head: .plain, density: 1, otherOptions: true), tensors: 7)
    }
}
