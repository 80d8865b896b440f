import XCTest
import Foundation
import IRNSupport
@testable import IRNNumerics

/// The prefix tracker against hand-computed features, scoring with the repeat head against
/// the Double reference, and the gate tensors in parameters, gradients, Adam and names.
final class RepeatHeadPrefixTests: XCTestCase {
    /// phi straight from the definitions, for the items fed so far (a plain list).
    func referencePhi(_ fed: [Int32]) -> [(Int32, [Double])] {
        var order: [Int32] = []
        for x in fed where !order.contains(x) { order.append(x) }
        return order.map { item in
            let count = fed.filter { $0 == item }.count
            let lastIndex = fed.lastIndex(of: item)!
            let since = fed.count - 1 - lastIndex
            return (item, [1, log(1 + Double(count)), 1 / (1 + Double(since)), fed.last == item ? 1 : 0])
        }
    }

    func testTrackerFeaturesByHand() {
        var t = PrefixTracker(slots: 2)
        for x: Int32 in [5, 7, 5, 9] { t.feed(slot: 0, item: x) }
        let e = t.entries(slot: 0)
        XCTAssertEqual(e.map(\.item), [5, 7, 9])
        // 5: twice, last fed at step 3 of 4; 7: once at step 2; 9: once, the last item.
        let expected: [[Float]] = [[1, Float(log(3.0)), 0.5, 0], [1, Float(log(2.0)), 1.0 / 3, 0], [1, Float(log(2.0)), 1, 1]]
        for (j, x) in expected.enumerated() {
            for f in 0..<4 { XCTAssertEqual(e[j].phi[f], x[f], accuracy: 1e-7, "item \(e[j].item) feature \(f)") }
        }
        XCTAssertEqual(t.count(slot: 1), 0, "slots are independent")
        t.reset(slot: 0)
        XCTAssertEqual(t.count(slot: 0), 0)
        t.feed(slot: 0, item: 7)
        XCTAssertEqual(t.entries(slot: 0).map(\.phi), [SIMD4<Float>(1, Float(log(2.0)), 1, 1)])

        // A mask zeroes the features left out, for every item.
        var masked = PrefixTracker(slots: 1, head: .repeatAware(features: [true, false, true, false]))
        for x: Int32 in [5, 7, 5, 9] { masked.feed(slot: 0, item: x) }
        XCTAssertEqual(masked.entries(slot: 0).map(\.phi), [SIMD4(1, 0, 0.5, 0), SIMD4(1, 0, 1.0 / 3, 0), SIMD4(1, 0, 1, 0)])

        // Random sequences: the tracker equals the definitions.
        var rng = RandomSource(seed: 4)
        var r = PrefixTracker(slots: 1)
        var fed: [Int32] = []
        for _ in 0..<60 {
            let x = Int32(rng.nextInt(below: 9))
            r.feed(slot: 0, item: x); fed.append(x)
            let got = r.entries(slot: 0), want = referencePhi(fed)
            XCTAssertEqual(got.map(\.item), want.map(\.0))
            for (g, w) in zip(got, want) { for f in 0..<4 { XCTAssertEqual(Double(g.phi[f]), w.1[f], accuracy: 1e-6) } }
        }
    }

    /// scoreStep with the repeat head: logits = base + g(h) . phi on the prefix items, -1
    /// leaves state and prefix as they are, a reset empties both.
    func testScoreStepAddsThePrefixTermAsTheReference() {
        for head in [PolicyHead.repeatAware(), .repeatAware(features: [false, true, false, true], gate: .constant)] {
            let shape = NetworkShape(items: 6, hidden: 4, head: head)
            var p = NetworkParameters(shape: shape, seed: 11, repeatGateBias: [1.5, -0.5, 2, 0.7])
            var rng = RandomSource(seed: 2)
            for i in p.tensors[ParameterGroup.repeatGateWeights.rawValue].indices { p.tensors[ParameterGroup.repeatGateWeights.rawValue][i] = 2 * rng.nextFloat() - 1 }
            let ref = ReferenceNetwork(p)
            let M = 3, H = shape.hidden, N = shape.items
            var state = RecurrentState(slots: M, hidden: H)
            var refH = [[Double]](repeating: [Double](repeating: 0, count: H), count: M), refC = refH
            var fed = [[Int32]](repeating: [], count: M)
            let feeds: [[Int32]] = [[1, 2, 3], [4, -1, 3], [1, 5, -1], [0, 1, 3], [1, -1, 2]]
            let resets: [[Bool]] = [[false, false, false], [false, false, false], [false, true, false], [true, false, false], [false, false, false]]
            var logits = [Float](repeating: 0, count: M * N)
            for (step, f) in feeds.enumerated() {
                f.withUnsafeBufferPointer { fi in
                    resets[step].withUnsafeBufferPointer { r in
                        logits.withUnsafeMutableBufferPointer { l in p.scoreStep(inputs: fi, resets: r, state: &state, logits: l) }
                    }
                }
                for m in 0..<M {
                    if resets[step][m] { refH[m] = [Double](repeating: 0, count: H); refC[m] = refH[m]; fed[m] = [] }
                    if f[m] >= 0 { (refH[m], refC[m]) = ref.step(refH[m], refC[m], f[m]); fed[m].append(f[m]) }
                    let prefix = referencePhi(fed[m]).map { ($0.0, zip($0.1, head.features).map { $1 ? $0 : 0 }) }
                    let z = ref.policyLogits(refH[m], prefix: prefix)
                    for j in 0..<N {
                        XCTAssertEqual(Double(logits[m * N + j]), z[j], accuracy: 1e-5, "\(head) step \(step) slot \(m) item \(j)")
                    }
                    XCTAssertEqual(state.prefix!.entries(slot: m).map(\.item), prefix.map(\.0))
                }
            }
            // Items never fed keep the base logit exactly: the term is sparse.
            let base = ReferenceNetwork(p).logit(refH[0], 4)
            XCTAssertFalse(fed[0].contains(4))
            XCTAssertEqual(Double(logits[4]), base, accuracy: 1e-5)
        }
    }

    func testGateTensorsExistOnlyForTheRepeatHead() throws {
        let plain = NetworkShape(items: 5, hidden: 2), rep = NetworkShape(items: 5, hidden: 2, head: .repeatAware())
        let pp = NetworkParameters(shape: plain, seed: 8), pr = NetworkParameters(shape: rep, seed: 8, repeatGateBias: [4, 2, 1, 0.5])
        XCTAssertEqual(pp.tensors.count, 7)
        XCTAssertEqual(pr.tensors.count, 9)
        for g in ParameterGroup.plainGroups { XCTAssertEqual(pp[g], pr[g], "same base draws: \(g.name)") }
        XCTAssertEqual(pr[.repeatGateWeights], [Float](repeating: 0, count: 8), "W_g starts at 0")
        XCTAssertEqual(pr[.repeatGateBias], [4, 2, 1, 0.5])
        XCTAssertEqual(NetworkParameters(shape: rep, seed: 8)[.repeatGateBias], [0, 0, 0, 0], "b_g starts at 0 by default")
        XCTAssertEqual(pp.namedParts.map(\.name), ParameterGroup.plainGroups.map(\.name))
        XCTAssertEqual(pr.namedParts.suffix(2).map(\.name), ["head.gate.weight", "head.gate.bias"])
        XCTAssertEqual(pr.namedParts.suffix(2).map(\.shape), [[4, 2], [4]])
        pr.withNamedTensors { XCTAssertEqual($0.count, 9) }

        // Loading named tensors checks the head both ways, with a message saying which flag.
        func named(_ p: NetworkParameters) -> [String: (shape: [Int], values: [Float])] {
            Dictionary(uniqueKeysWithValues: p.namedParts.map { ($0.name, (shape: $0.shape, values: $0.values)) })
        }
        XCTAssertEqual(try NetworkParameters(shape: rep, named: named(pr)), pr)
        XCTAssertThrowsError(try NetworkParameters(shape: plain, named: named(pr))) { XCTAssertTrue("\($0)".contains("--head repeat"), "\($0)") }
        XCTAssertThrowsError(try NetworkParameters(shape: rep, named: named(pp))) { XCTAssertTrue("\($0)".contains("--head plain"), "\($0)") }
        var q = pp
        XCTAssertThrowsError(try q.assign([TensorPart(name: "head.gate.bias", shape: [4], rows: nil, values: [1, 1, 1, 1])]))
        var q2 = pr
        try q2.assign([TensorPart(name: "head.gate.bias", shape: [4], rows: nil, values: [1, 2, 3, 4])])
        XCTAssertEqual(q2[.repeatGateBias], [1, 2, 3, 4])

        // Gradients and Adam carry the gate; names round-trip.
        var g = NetworkGradient(shape: rep)
        XCTAssertEqual(g.parts.count, 9)
        XCTAssertTrue(g[.repeatGateWeights].isDense)
        g[.repeatGateBias] = GradientTensor(rows: 1, width: 4, layout: .dense, rowIndices: [], values: [0.5, -1, 0, 2])
        XCTAssertEqual(try NetworkGradient(shape: rep, namedParts: g.namedParts), g)
        XCTAssertThrowsError(try NetworkGradient(shape: plain, namedParts: g.namedParts))
        XCTAssertEqual(NetworkGradient(shape: plain).parts.count, 7)
        var adam = Adam(shape: rep)
        var theta = pr
        adam.apply(g, to: &theta)
        // Adam's first step moves each entry with a non-zero gradient by lr against its sign.
        XCTAssertEqual(theta[.repeatGateBias][0], 4 - 1e-3, accuracy: 1e-6)
        XCTAssertEqual(theta[.repeatGateBias][1], 2 + 1e-3, accuracy: 1e-6)
        XCTAssertEqual(theta[.repeatGateBias][2], 1)
        XCTAssertEqual(theta[.repeatGateWeights], [Float](repeating: 0, count: 8), "zero gradient, W_g stays 0")
        XCTAssertTrue(adam.namedMoments().map(\.name).contains("adam.m.head.gate.weight"))
        XCTAssertFalse(Adam(shape: plain).namedMoments().map(\.name).contains { $0.contains("head.gate") })
        var restored = Adam(shape: rep)
        try restored.restore(step: adam.step, named: Dictionary(uniqueKeysWithValues: adam.namedMoments().map { ($0.name, $0.values) }))
        XCTAssertEqual(restored.firstMoments, adam.firstMoments)
    }

    /// The shape (and so a model's metadata) records the head; a shape written before heads
    /// existed reads as plain.
    func testShapeRecordsTheHead() throws {
        let rep = NetworkShape(items: 5, hidden: 2, head: .repeatAware(features: [true, true, false, true], gate: .constant))
        let data = try JSONEncoder().encode(rep)
        XCTAssertEqual(try JSONDecoder().decode(NetworkShape.self, from: data), rep)
        XCTAssertEqual(try JSONDecoder().decode(NetworkShape.self, from: Data(#"{"items":5,"hidden":2}"#.utf8)), NetworkShape(items: 5, hidden: 2))
        XCTAssertNotEqual(rep, NetworkShape(items: 5, hidden: 2, head: .repeatAware()))
        XCTAssertEqual(PolicyHead(kind: .plain, features: [false, false, false, true], gate: .constant), .plain)
        XCTAssertEqual("\(rep.head)", "repeat (features session,count,last; gate constant)")
        XCTAssertThrowsError(try JSONDecoder().decode(PolicyHead.self, from: Data(#"{"kind":"repeat","features":[true],"gate":"state"}"#.utf8)))

        // Model-file metadata round-trips; no entry reads as plain; mismatches are refused.
        for head in [PolicyHead.plain, .repeatAware(), rep.head] {
            XCTAssertEqual(try PolicyHead(metadata: head.metadata), head)
        }
        XCTAssertEqual(rep.head.metadata, ["head": "repeat", "repeat_features": "session,count,last", "repeat_gate": "constant"])
        XCTAssertEqual(try PolicyHead(metadata: [:]), .plain)
        XCTAssertThrowsError(try PolicyHead(metadata: ["head": "fancy"])) { XCTAssertTrue("\($0)".contains("fancy")) }
        XCTAssertThrowsError(try PolicyHead(metadata: ["head": "repeat", "repeat_features": "session,often"])) { XCTAssertTrue("\($0)".contains("often")) }
        XCTAssertNoThrow(try rep.head.checkMatches(requested: rep.head))
        XCTAssertThrowsError(try PolicyHead.repeatAware().checkMatches(requested: .plain)) {
            XCTAssertTrue("\($0)".contains("policy head repeat"), "\($0)")
            XCTAssertTrue("\($0)".contains("plain was asked for"), "\($0)")
        }
    }
}
