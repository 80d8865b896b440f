import IRNData
import IRNSupport

/// A quick paper-scale session generator for `irn bench baseline` (speed only; the figures it
/// yields mean nothing): Zipf-like item popularity, each item with four likely successors,
/// repeats of the session's own items, and a purchase of an item already clicked at the end
/// of about half the sessions. Mean length about 9.5 events, as in the paper's training set.
struct BaselineSynthetic {
    let items: Int
    private var rng: RandomSource
    private let cumulative: [Double]
    private let successors: [Int32]

    init(items: Int, seed: UInt64) {
        self.items = items
        rng = RandomSource(seed: seed, stream: 0x5E55)
        var c = [Double](repeating: 0, count: items)
        var total = 0.0
        for i in 0..<items { total += 1 / pow09(Double(i + 10)); c[i] = total }
        cumulative = c.map { $0 / total }
        var succ = [Int32](repeating: 0, count: items * 4)
        var r = RandomSource(seed: seed, stream: 0x5ACC)
        for k in 0..<(items * 4) { succ[k] = Int32(BaselineSynthetic.draw(c.map { $0 / total }, &r)) }
        successors = succ
    }

    private static func draw(_ cum: [Double], _ rng: inout RandomSource) -> Int {
        let u = rng.nextDouble()
        var lo = 0, hi = cum.count - 1
        while lo < hi { let m = (lo + hi) / 2; if cum[m] < u { lo = m + 1 } else { hi = m } }
        return lo
    }

    mutating func sessions(count: Int, firstId: Int64, startTime: Int64) -> SessionSet {
        var out = SessionSet()
        var items: [Int32] = [], types: [UInt8] = [], times: [Int64] = []
        for s in 0..<count {
            items.removeAll(); types.removeAll(); times.removeAll()
            let length = min(200, 2 + Int(-7.0 * log1p(-rng.nextDouble())))
            var current = Int32(Self.draw(cumulative, &rng))
            for t in 0..<length {
                if t > 0 {
                    let u = rng.nextDouble()
                    if u < 0.2 { current = items[rng.nextInt(below: items.count)] }
                    else if u < 0.7 { current = successors[Int(current) * 4 + rng.nextInt(below: 4)] }
                    else { current = Int32(Self.draw(cumulative, &rng)) }
                }
                items.append(current); types.append(EventType.click.rawValue)
            }
            if rng.nextDouble() < 0.5 {
                items.append(items[rng.nextInt(below: items.count)]); types.append(EventType.purchase.rawValue)
            }
            let base = startTime + Int64(s) * 60_000
            for t in 0..<items.count { times.append(base + Int64(t) * 1000) }
            out.append(id: firstId + Int64(s), items: items, types: types, times: times)
        }
        return out
    }
}

private func pow09(_ x: Double) -> Double { exp(0.9 * log(x)) }

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
