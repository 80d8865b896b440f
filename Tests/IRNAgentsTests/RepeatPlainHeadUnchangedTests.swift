import XCTest
import IRNData
import IRNNumerics
import IRNSupport
@testable import IRNAgents

/// `--head plain` must stay bit for bit what it was before the repeat head existed: the
/// parameters after a few iterations of every algorithm hash to the values recorded on the
/// code before the repeat head was added (commit 60e48f5, old feeder, density 1).
final class RepeatPlainHeadUnchangedTests: XCTestCase {
    static func fingerprint(_ p: NetworkParameters) -> UInt64 {
        var h: UInt64 = 0
        for t in p.tensors {
            t.withUnsafeBytes { h = h &* 0x9E37_79B9_7F4A_7C15 ^ StableHash.fnv1a(bytes: $0) }
        }
        return h
    }

    static func run(_ algo: Algorithm, entropy: Float) throws -> NetworkParameters {
        var config = tinyConfig(algo)
        config.entropy = entropy
        config.targetEvery = 4
        config.adam.learningRate = 5e-3
        let agent = try Agent(config: config)
        // Density 1: the windows then do not depend on how reward density is drawn (the feeder
        // moved onto IRNData.RewardModel after these values were recorded).
        for w in firstWindows(config, count: 7, density: 1) { try agent.iterate(w) }
        return agent.parameters
    }

    func testPlainHeadParametersAreBitIdenticalToTheRecordedOnes() throws {
        // Recorded with OpenBLAS's Haswell kernels; other kernels round differently.
        guard BLAS.coreName.lowercased() == "haswell" else {
            throw XCTSkip("fingerprints were recorded with OpenBLAS core Haswell, this machine uses \(BLAS.coreName)")
        }
        let recorded: [String: UInt64] = [
            "a3c-f/0.0": 0xa290e5ffc42a6346, "a3c-f/0.01": 0x182ffcd06b1325dd,
            "a3c-p/0.0": 0xdc1c330c3f1667ef, "a3c-p/0.01": 0x6ba7ffb0f3041bfc,
            "irn-f/0.0": 0xacb42410d8da57e6, "irn-f/0.01": 0x751f2c0f85aa0e4d,
            "irn-p/0.0": 0x0f00367406f66290, "irn-p/0.01": 0x77a65d8506553537,
            "prn-p/0.0": 0x904b46dce3c5639b, "prn-p/0.01": 0xd269e466325050d2,
        ]
        for algo in Algorithm.allCases {
            for entropy: Float in [0, 0.01] {
                let p = try Self.run(algo, entropy: entropy)
                XCTAssertEqual(p.tensors.count, 7, "the plain head has exactly the paper's seven tensors")
                let key = "\(algo.rawValue)/\(entropy)"
                let f = Self.fingerprint(p)
                XCTAssertEqual(f, recorded[key], key)
            }
        }
    }
}
