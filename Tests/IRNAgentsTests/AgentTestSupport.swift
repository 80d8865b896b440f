import Foundation
import IRNData
import IRNNumerics
@testable import IRNAgents

/// A tiny shop: sessions over 6 items with click runs and purchases.
func tinySessions() -> SessionSet {
    var s = SessionSet()
    let sessions: [([Int32], [UInt8])] = [
        ([0, 1, 2, 2], [0, 0, 0, 1]),
        ([3, 4, 4], [0, 0, 1]),
        ([1, 2, 3, 4, 5, 5], [0, 0, 0, 0, 0, 1]),
        ([5, 0], [0, 1]),
        ([2, 3], [0, 0]),
        ([4, 5, 0, 1, 1], [0, 0, 0, 0, 1]),
        ([0, 0, 1], [0, 1, 1]),
        ([3, 2, 1, 0], [0, 0, 0, 1]),
    ]
    for (i, (items, types)) in sessions.enumerated() {
        s.append(id: Int64(100 + i), items: items, types: types, times: items.indices.map { Int64($0) })
    }
    return s
}

func tinyConfig(_ algo: Algorithm) -> AgentConfig {
    var c = AgentConfig(algorithm: algo, items: 6)
    c.hidden = 8
    c.slots = 3
    c.window = 3
    c.seed = 42
    return c
}

func firstWindows(_ config: AgentConfig, count: Int, density: Double = 1) -> [RolloutWindow] {
    var f = SessionWindowFeeder(sessions: tinySessions(), config: config, density: density, seed: 9)
    var out: [RolloutWindow] = []
    var w = RolloutWindow(steps: config.window, slots: config.slots, lookahead: config.nStep)
    while out.count < count {
        if !f.next(into: &w) { f = SessionWindowFeeder(sessions: tinySessions(), config: config, density: density, seed: 9); continue }
        out.append(w)
    }
    return out
}

/// Steps the scorer through step `t` of a window as the evaluator would (inactive slots fed
/// -1): the logits of every slot after that step's input.
func scoreWindowStep(_ theta: NetworkParameters, _ w: RolloutWindow, step t: Int, state: inout RecurrentState, logits: inout [Float]) {
    let M = w.slots
    let inp = (0..<M).map { w.active[t * M + $0] ? w.inputs[t * M + $0] : -1 }
    let rst = Array(w.resets[(t * M)..<((t + 1) * M)])
    inp.withUnsafeBufferPointer { i in
        rst.withUnsafeBufferPointer { r in
            logits.withUnsafeMutableBufferPointer { theta.scoreStep(inputs: i, resets: r, state: &state, logits: $0) }
        }
    }
}

/// -log softmax(z)[a] of slot m's row of `logits` (N per slot), in Double.
func negativeLogSoftmax(_ logits: [Float], slot m: Int, items N: Int, action a: Int) -> Double {
    let z = logits[(m * N)..<((m + 1) * N)].map(Double.init)
    let zmax = z.max()!
    return -(z[a] - (zmax + Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - zmax) })))
}
