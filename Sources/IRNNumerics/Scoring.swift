/// Per-slot recurrent state (h, c) of M parallel sessions, plus the scratch one step needs.
public struct RecurrentState: Sendable {
    public let slots: Int
    public let hidden: Int
    /// M x H each.
    public var h: [Float]
    public var c: [Float]
    fileprivate var nextH: [Float]
    fileprivate var nextC: [Float]
    fileprivate var gates: [Float]

    public init(slots: Int, hidden: Int) {
        self.slots = slots
        self.hidden = hidden
        h = [Float](repeating: 0, count: slots * hidden)
        c = h
        nextH = h
        nextC = h
        gates = [Float](repeating: 0, count: slots * 5 * hidden)
    }

    /// Zeroes slot m's state.
    public mutating func reset(slot m: Int) {
        for j in (m * hidden)..<((m + 1) * hidden) { h[j] = 0; c[j] = 0 }
    }

    public mutating func resetAll() {
        h.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        c.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

extension NetworkParameters {
    /// One scoring step for M parallel sessions: slot m's state is zeroed when `resets[m]`,
    /// then advanced by feeding `inputs[m]` (-1: keep the state, feed nothing); finally the
    /// policy logits over all N items are written for every slot to `logits` (M x N,
    /// row-major; one sgemm). Slots whose input is -1 still get logits from their state.
    public func scoreStep(
        inputs: UnsafeBufferPointer<Int32>, resets: UnsafeBufferPointer<Bool>?, state: inout RecurrentState,
        logits: UnsafeMutableBufferPointer<Float>, recorder: GemmRecorder? = nil
    ) {
        let M = state.slots, H = shape.hidden, N = shape.items
        precondition(state.hidden == H, "state has \(state.hidden) units, network \(H)")
        precondition(inputs.count >= M && logits.count >= M * N, "scoreStep needs M inputs and M x N logits")
        for i in 0..<M where inputs[i] >= Int32(N) { preconditionFailure("item \(inputs[i]) out of range 0..<\(N)") }
        if let resets { for m in 0..<M where resets[m] { state.reset(slot: m) } }
        withPointers { p in
            state.h.withUnsafeMutableBufferPointer { h in
                state.c.withUnsafeMutableBufferPointer { c in
                    state.nextH.withUnsafeMutableBufferPointer { nh in
                        state.nextC.withUnsafeMutableBufferPointer { nc in
                            state.gates.withUnsafeMutableBufferPointer { g in
                                var fed = 0
                                for m in 0..<M where inputs[m] >= 0 { fed += 1 }
                                if fed > 0 {
                                    nh.baseAddress!.update(from: h.baseAddress!, count: M * H)
                                    nc.baseAddress!.update(from: c.baseAddress!, count: M * H)
                                    LSTMKernels.inferenceStep(p, rows: M, items: inputs.baseAddress!, h: nh.baseAddress!,
                                                              c: nc.baseAddress!, gates: g.baseAddress!, recorder: recorder)
                                    for m in 0..<M where inputs[m] >= 0 {
                                        (h.baseAddress! + m * H).update(from: nh.baseAddress! + m * H, count: H)
                                        (c.baseAddress! + m * H).update(from: nc.baseAddress! + m * H, count: H)
                                    }
                                }
                                LSTMKernels.logits(p, rows: M, h: h.baseAddress!, out: logits.baseAddress!, recorder: recorder)
                            }
                        }
                    }
                }
            }
        }
    }

    /// V for every slot of `state` (M values).
    public func values(of state: RecurrentState) -> [Float] {
        var out = [Float](repeating: 0, count: state.slots)
        withPointers { p in
            state.h.withUnsafeBufferPointer { h in
                out.withUnsafeMutableBufferPointer { o in LSTMKernels.values(p, rows: state.slots, h: h.baseAddress!, out: o.baseAddress!) }
            }
        }
        return out
    }
}
