import Foundation

/// Forward and backward of the online network over one rollout window of k steps x M
/// slots (truncated BPTT; the state entering the window is a constant), with imagined
/// branches forking from window states. All buffers are allocated once, for the largest
/// window, so an iteration allocates nothing but the gradient's sparse rows.
///
/// Use: `forward` (gives the values V(s_t) an agent needs for its advantages), then
/// `backward` with the loss terms, which returns the loss and fills a gradient.
///
/// The work is spread over files by step: WindowForward (the forward pass, one LSTM step
/// shared by the window and the branches), OutputErrors (value, policy and reconstruction
/// errors on the heads), BranchPass (imagined branches), WindowBackward (the order of the
/// steps, BPTT and the gradient export).
public final class WindowBackprop {
    public let shape: NetworkShape
    public let slots: Int
    public let maxSteps: Int
    public let maxBranches: Int
    public let maxDepth: Int
    /// When set, every product issued is recorded (FLOP counting in benchmarks).
    public var recorder: GemmRecorder?
    /// Test hook: treat the policy head as dense even without policy terms, so the sparse
    /// path can be compared with the dense one.
    public var forceDensePolicyHead = false

    public internal(set) var steps = 0

    let arena: Arena
    /// Window activations, [step][slot][...]; their items are the window's inputs.
    let window: UnrolledActivations
    let vals: UnsafeMutablePointer<Float>
    let resets: UnsafeMutablePointer<Bool>
    /// Branch activations, [depth][branch][...], and the errors on their h.
    let branch: UnrolledActivations
    let bdH: UnsafeMutablePointer<Float>
    // Backward scratch: the errors on the window states' h and c from the losses, and the
    // carries of BPTT.
    let dH, dC: UnsafeMutablePointer<Float>
    let dGates, dhCarry, dcCarry, dhTotal: UnsafeMutablePointer<Float>
    let policyH, policyZ, policyDH, zRow: UnsafeMutablePointer<Float>
    let rowLoss, entropyLoss: UnsafeMutablePointer<Double>
    // Dense gradient accumulators.
    let dWh, db, dWp, dbp, dwv: UnsafeMutablePointer<Float>
    // Repeat head: gate gradients.
    let dWg, dbg: UnsafeMutablePointer<Float>
    // Repeat-next head: candidate gate gradients.
    let dWn, dbn: UnsafeMutablePointer<Float>
    var dbv: Float = 0
    let wxAcc: RowAccumulator
    let wpAcc: RowAccumulator
    let bpAcc: RowAccumulator
    /// Whether the current backward writes the policy head's gradient dense (with policy
    /// terms every row gets one) or as sparse rows.
    var densePolicyGradient = false

    public init(shape: NetworkShape, slots: Int, maxSteps: Int, maxBranches: Int = 0, maxDepth: Int = 0) {
        precondition(slots > 0 && maxSteps > 0)
        self.shape = shape
        self.slots = slots
        self.maxSteps = maxSteps
        self.maxBranches = maxBranches
        self.maxDepth = maxDepth
        let H = shape.hidden, N = shape.items, G = 4 * H
        let rows = maxSteps * slots
        let bRows = maxBranches * maxDepth
        let a = Arena()
        arena = a
        window = UnrolledActivations(a, rows: rows, hidden: H)
        vals = a.floats(rows)
        resets = .allocate(capacity: rows); resets.initialize(repeating: false, count: rows)
        a.onFree { [resets] in resets.deallocate() }
        branch = UnrolledActivations(a, rows: bRows, hidden: H)
        bdH = a.floats(bRows * H)
        dH = a.floats(rows * H); dC = a.floats(rows * H)
        let wide = max(slots, maxBranches)
        dGates = a.floats(wide * G); dhCarry = a.floats(wide * H); dcCarry = a.floats(wide * H)
        dhTotal = a.floats(wide * H)
        policyH = a.floats(rows * H); policyZ = a.floats(rows * N); policyDH = a.floats(rows * H)
        zRow = a.floats(N)
        rowLoss = .allocate(capacity: rows); rowLoss.initialize(repeating: 0, count: rows)
        entropyLoss = .allocate(capacity: rows); entropyLoss.initialize(repeating: 0, count: rows)
        a.onFree { [rowLoss, entropyLoss] in rowLoss.deallocate(); entropyLoss.deallocate() }
        dWh = a.floats(H * G); db = a.floats(G); dWp = a.floats(N * H); dbp = a.floats(N); dwv = a.floats(H)
        dWg = a.floats(4 * H); dbg = a.floats(4)
        dWn = a.floats(4 * H); dbn = a.floats(4)
        wxAcc = RowAccumulator(rows: N, width: G, expectedRows: rows + bRows)
        wpAcc = RowAccumulator(rows: N, width: H, expectedRows: rows + bRows)
        bpAcc = RowAccumulator(rows: N, width: 1, expectedRows: rows + bRows)
    }
}

/// The activations of an LSTM unrolled over steps, stored step after step: per row the
/// state fed in (h_prev, c_prev), the activated gates, c, tanh(c), h, and the item fed.
/// The window (M rows a step) and the imagined branches (R rows a step) share this layout.
struct UnrolledActivations {
    let hPrev, cPrev, gates, cell, tanhC, hid: UnsafeMutablePointer<Float>
    let items: UnsafeMutablePointer<Int32>

    /// Room for `rows` rows in all, over all steps.
    init(_ a: Arena, rows: Int, hidden H: Int) {
        hPrev = a.floats(rows * H); cPrev = a.floats(rows * H); gates = a.floats(rows * 4 * H)
        cell = a.floats(rows * H); tanhC = a.floats(rows * H); hid = a.floats(rows * H)
        items = a.ints(rows)
    }

    /// Step t's rows when every step holds `rows` rows.
    func step(_ t: Int, rows: Int, hidden H: Int) -> LSTMStep {
        let o = t * rows
        return LSTMStep(hPrev: hPrev + o * H, cPrev: cPrev + o * H, gates: gates + o * 4 * H, cell: cell + o * H,
                        tanhC: tanhC + o * H, hid: hid + o * H, items: items + o)
    }
}

/// One step's rows of `UnrolledActivations`.
struct LSTMStep {
    let hPrev, cPrev, gates, cell, tanhC, hid: UnsafeMutablePointer<Float>
    let items: UnsafeMutablePointer<Int32>
}

/// Owns raw allocations of a workspace and frees them together.
final class Arena {
    private var frees: [() -> Void] = []
    func floats(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        p.initialize(repeating: 0, count: max(n, 1))
        frees.append { p.deallocate() }
        return p
    }
    func ints(_ n: Int) -> UnsafeMutablePointer<Int32> {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        p.initialize(repeating: -1, count: max(n, 1))
        frees.append { p.deallocate() }
        return p
    }
    func onFree(_ f: @escaping () -> Void) { frees.append(f) }
    deinit { for f in frees { f() } }
}
