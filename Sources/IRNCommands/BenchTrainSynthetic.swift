import IRNData

/// A paper-scale prepared data set built in memory from the synthetic shop (for speed
/// benchmarks): every session a buying one (as after the purchase filter, docs/algorithm.md#data-and-preprocessing), clicks and
/// buys merged by time (clicks first on ties), items used as their own dense indices.
enum BenchTrainSynthetic {
    static func dataset(items: Int, trainSessions: Int, testSessions: Int, seed: UInt64) throws -> PreparedDataset {
        var config = SyntheticShop.Config(sessions: trainSessions + testSessions, items: items, seed: seed)
        config.buyerShare = 1
        var train = SessionSet(), test = SessionSet()
        var order: [Int] = [], items32: [Int32] = [], types: [UInt8] = [], times: [Int64] = []
        try SyntheticShop(config).generate { s in
            let n = s.clickItems.count + s.buyItems.count
            guard n >= 2 else { return }
            order = Array(0..<n)
            func time(_ i: Int) -> Int64 { i < s.clickItems.count ? s.clickTimes[i] : s.buyTimes[i - s.clickItems.count] }
            order.sort { (time($0), $0) < (time($1), $1) }  // clicks (lower index) first on ties
            items32.removeAll(keepingCapacity: true); types.removeAll(keepingCapacity: true); times.removeAll(keepingCapacity: true)
            for i in order {
                let click = i < s.clickItems.count
                items32.append(click ? s.clickItems[i] : s.buyItems[i - s.clickItems.count])
                types.append(click ? EventType.click.rawValue : EventType.purchase.rawValue)
                times.append(time(i))
            }
            if train.count < trainSessions {
                train.append(id: s.sessionId, items: items32, types: types, times: times)
            } else {
                test.append(id: s.sessionId, items: items32, types: types, times: times)
            }
        }
        return PreparedDataset(itemIds: (0..<items).map(Int64.init), train: train, test: test, trainTr: train,
                               valid: test, shardCount: 64)
    }
}
