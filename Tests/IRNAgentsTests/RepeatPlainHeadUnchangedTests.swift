import XCTest
import IRNData
import IRNNumerics
import IRNSupport
@testable import IRNAgents

/// `--head plain` must stay bit for bit what it was before the repeat head existed: the
/// parameters after a few iterations of every algorithm hash to the values recorded on the
/// code before the repeat head was added (commit 60e48f5).
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
        for w in firstWindows(config, count: 7, density: 0.8) { try agent.iterate(w) }
        return agent.parameters
    }

    func testPlainHeadParametersAreBitIdenticalToTheRecordedOnes() throws {
        // Recorded with OpenBLAS's Haswell kernels; other kernels round differently.
        guard BLAS.coreName.lowercased() == "haswell" else {
            throw XCTSkip("fingerprints were recorded with OpenBLAS core Haswell, this machine uses \(BLAS.coreName)")
        }
        let recorded: [String: UInt64] = [
            "a3c-f/0.0": 0x6a8c322a2018297e, "a3c-f/0.01": 0x4fd5bc126c5f70c5,
            "a3c-p/0.0": 0x45991a24cca2135b, "a3c-p/0.01": 0xfb44fc82304a34ee,
            "irn-f/0.0": 0xa175acc0e17b6cbb, "irn-f/0.01": 0x55d4b5f7ebd978df,
            "irn-p/0.0": 0x687a6a4254d75f21, "irn-p/0.01": 0x9be936528566ab1a,
            "prn-p/0.0": 0x6a8249978697fa8c, "prn-p/0.01": 0x061cf90a3e7bc896,
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
