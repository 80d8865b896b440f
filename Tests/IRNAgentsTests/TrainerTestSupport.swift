import Foundation
import IRNData
import IRNSupport
@testable import IRNAgents

/// A tiny prepared data set with learnable structure: sessions walk i -> i+1 (mod N) most of
/// the time and often end by buying the item just clicked.
func tinyPrepared(items: Int = 12, train: Int = 90, valid: Int = 30, test: Int = 30, seed: UInt64 = 5) -> PreparedDataset {
    var rng = RandomSource(seed: seed)
    func sessions(_ count: Int, firstId: Int64) -> SessionSet {
        var s = SessionSet()
        for k in 0..<count {
            var its: [Int32] = [Int32(rng.nextInt(below: items))]
            let length = 2 + rng.nextInt(below: 5)
            while its.count < length {
                its.append(rng.nextDouble() < 0.75 ? (its.last! + 1) % Int32(items) : Int32(rng.nextInt(below: items)))
            }
            var types = [UInt8](repeating: EventType.click.rawValue, count: its.count)
            if rng.nextDouble() < 0.6 { its.append(its.last!); types.append(EventType.purchase.rawValue) }
            s.append(id: firstId + Int64(k), items: its, types: types, times: its.indices.map { Int64($0) })
        }
        return s
    }
    let tr = sessions(train, firstId: 1), va = sessions(valid, firstId: 10_000), te = sessions(test, firstId: 20_000)
    var all = tr
    for i in 0..<va.count { let r = va.range(of: i); all.append(id: va.ids[i], items: va.items[r], types: va.types[r], times: va.times[r]) }
    return PreparedDataset(itemIds: (0..<items).map { Int64(1000 + $0) }, train: all, test: te, trainTr: tr, valid: va, shardCount: 8)
}

func tinyTrainerConfig(_ algo: Algorithm, items: Int = 12, seed: UInt64 = 3) -> AgentConfig {
    var c = AgentConfig(algorithm: algo, items: items)
    c.hidden = 8
    c.slots = 4
    c.targetEvery = 20
    c.seed = seed
    c.adam.learningRate = 0.01
    return c
}

/// A fresh empty directory under the temporary directory.
func scratchDirectory(_ name: String) -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("irn-trainer-tests-\(name)-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
