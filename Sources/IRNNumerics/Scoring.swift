/// Per-slot recurrent state (h, c) of M parallel sessions, plus the scratch one step needs.
/// With the repeat head it also holds each slot's session prefix (`prefix`), so scoring adds
/// the prefix term exactly as training does.
public struct RecurrentState: Sendable {
    public let slots: Int
    public let hidden: Int
    /// M x H each.
    public var h: [Float]
    public var c: [Float]
    /// The slots' session prefixes (repeat head); created by the first `scoreStep` of a
    /// repeat-head network when not given, so every slot starts empty.
    public var prefix: PrefixTracker?
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

    /// A state for the network shape given (with a prefix tracker for the repeat head).
    public init(slots: Int, shape: NetworkShape) {
        self.init(slots: slots, hidden: shape.hidden)
        if shape.head.isRepeat { prefix = PrefixTracker(slots: slots, head: shape.head) }
    }

    /// Zeroes slot m's state.
    public mutating func reset(slot m: Int) {
        for j in (m * hidden)..<((m + 1) * hidden) { h[j] = 0; c[j] = 0 }
        prefix?.reset(slot: m)
    }

    public mutating func resetAll() {
        h.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        c.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        prefix?.resetAll()
    }
}

extension NetworkParameters {
    /// One scoring step for M parallel sessions: slot m's state is zeroed when `resets[m]`,
    /// then advanced by feeding `inputs[m]` (-1: keep the state, feed nothing); finally the
    /// policy logits over all N items are written for every slot to `logits` (M x N,
    /// row-major; one sgemm). Slots whose input is -1 still get logits from their state.
    /// Repeat head: the fed items also enter the slots' prefixes (-1 leaves a prefix as it
    /// is), and each slot's prefix items get g(h) . phi added, as in training.
    public func scoreStep(
        inputs: UnsafeBufferPointer<Int32>, resets: UnsafeBufferPointer<Bool>?, state: inout RecurrentState,
        logits: UnsafeMutableBufferPointer<Float>, recorder: GemmRecorder? = nil
    ) {
        let M = state.slots, H = shape.hidden, N = shape.items
        precondition(state.hidden == H, "state has \(state.hidden) units, network \(H)")
        precondition(inputs.count >= M && logits.count >= M * N, "scoreStep needs M inputs and M x N logits")
        for i in 0..<M where inputs[i] >= Int32(N) { preconditionFailure("item \(inputs[i]) out of range 0..<\(N)") }
        let head = shape.head
        if head.isRepeat {
            if state.prefix == nil { state.prefix = PrefixTracker(slots: M, head: head) }
            precondition(state.prefix!.slots == M && state.prefix!.lanes == head.featureLanes, "scoring state's prefix tracker does not match the network's head")
        } else {
            precondition(state.prefix == nil, "a plain-head network cannot score with a prefix tracker")
        }
        if let resets { for m in 0..<M where resets[m] { state.reset(slot: m) } }
        if head.isRepeat { for m in 0..<M where inputs[m] >= 0 { state.prefix!.feed(slot: m, item: inputs[m]) } }
        // The repeat-next head's candidates mutate the tracker's scratch: moved out of `state`
        // for the pass (no copy) so the closures below do not overlap accesses to `state`.
        var nextTracker: PrefixTracker? = nil
        if head.hasNext { swap(&nextTracker, &state.prefix) }
        defer { if head.hasNext { swap(&nextTracker, &state.prefix) } }
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
                                if let prefix = state.prefix {
                                    for m in 0..<M {
                                        let gate = RepeatGate.value(p, head: head, h: h.baseAddress! + m * H)
                                        let z = logits.baseAddress! + m * N
                                        prefix.forEach(slot: m) { item, phi in z[Int(item)] += (gate * phi).sum() }
                                    }
                                }
                                if head.hasNext {
                                    // Prefix items and candidates are disjoint: each logit gets one term.
                                    for m in 0..<M {
                                        let gate = RepeatGate.value(p, head: head, h: h.baseAddress! + m * H)
                                        let gateNext = RepeatGate.nextValue(p, head: head, h: h.baseAddress! + m * H)
                                        let z = logits.baseAddress! + m * N
                                        nextTracker!.forEach(slot: m) { item, phi in z[Int(item)] += (gate * phi).sum() }
                                        nextTracker!.forEachNext(slot: m) { item, psi in z[Int(item)] += (gateNext * psi).sum() }
                                    }
                                }
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
