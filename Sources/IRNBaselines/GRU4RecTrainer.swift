import IRNData
import IRNSupport

/// Trains GRU4Rec with session-parallel mini-batches: `batchSize` rows each run through one
/// session; every step feeds each row's current item and predicts its next one; a row whose
/// session ends takes the next session with its hidden state reset to zero; rows drop out
/// when no sessions are left. The loss of a step is BPR-max over the B x B scores of the
/// rows' hidden states against the rows' targets, summed over rows / batchSize.
public final class GRU4RecTrainer {
    public let config: GRU4RecModel.Config
    public let params: GRUParameters
    let grad: GRUParameters          // dense gradient buffer (bh, wrz, wh used; sparse rows aside)
    let state1: GRUParameters        // Adagrad accumulator / Adam first moment
    let state2: GRUParameters        // momentum velocity / Adam second moment
    let cell: GRUCell
    let n: Int, hd: Int, cap: Int
    // Per-step buffers.
    var yt: [Float], o: [Float], yhat: [Float], dy: [Float], dh: [Float], dyt: [Float], inputGrad: [Float]
    var seenIn: [Int], seenOut: [Int]  // item -> last step whose input / target update covered it
    public private(set) var steps = 0

    public init(itemCount: Int, config: GRU4RecModel.Config) {
        self.config = config
        n = itemCount
        hd = config.hidden
        cap = config.batchSize
        params = GRUParameters.initialised(itemCount: itemCount, hidden: hd, seed: config.seed)
        grad = GRUParameters(itemCount: itemCount, hidden: hd)
        state1 = GRUParameters(itemCount: itemCount, hidden: hd)
        state2 = GRUParameters(itemCount: itemCount, hidden: hd)
        cell = GRUCell(hidden: hd, capacity: cap)
        yt = [Float](repeating: 0, count: cap * hd)
        o = [Float](repeating: 0, count: cap * cap)
        dy = o
        yhat = o
        dh = yt
        dyt = yt
        inputGrad = [Float](repeating: 0, count: cap * 3 * hd)
        seenIn = [Int](repeating: -1, count: itemCount)
        seenOut = seenIn
    }

    public var model: GRU4RecModel { GRU4RecModel(parameters: params.copy()) }

    /// Loss of one mini-batch step and its gradient: dense parts into `grad` (bh, wrz, wh),
    /// the sparse rows into `grad.wx` / `grad.wy` / `grad.by` (scattered, accumulating).
    /// `grad` must be zeroed by the caller. Used by training and by the gradient check.
    public func lossAndGradient(inputs: [Int32], targets: [Int32], h: [Float], grad g: GRUParameters) -> Float {
        let b = inputs.count
        precondition(b <= cap && targets.count == b && h.count >= b * hd)
        let p = params
        let alpha = config.eluAlpha
        return h.withUnsafeBufferPointer { hp in
            inputs.withUnsafeBufferPointer { inp in
                cell.forward(p, inputs: inp.baseAddress!, h: hp.baseAddress!, rows: b)
                // Output: O = h' Yt^T + by[targets], then elu.
                yt.withUnsafeMutableBufferPointer { y in
                    for j in 0..<b { (y.baseAddress! + j * hd).update(from: p.wy + Int(targets[j]) * hd, count: hd) }
                }
                for r in 0..<b { for j in 0..<b { o[r * b + j] = p.by[Int(targets[j])] } }
                yt.withUnsafeBufferPointer { y in
                    o.withUnsafeMutableBufferPointer { ob in
                        gemm(false, true, b, b, hd, 1, cell.hNew, hd, y.baseAddress!, hd, 1, ob.baseAddress!, b)
                    }
                }
                // yhat = elu(o)
                for k in 0..<(b * b) { yhat[k] = o[k] >= 0 ? o[k] : alpha * (expF(o[k]) - 1) }
                let loss = yhat.withUnsafeBufferPointer { yp in
                    dy.withUnsafeMutableBufferPointer { dp in
                        BPRMax.lossAndGradient(y: yp.baseAddress!, batch: b, bpreg: config.bpreg,
                                               scale: 1 / Float(config.batchSize), grad: dp.baseAddress!)
                    }
                }
                // Through elu: d/do = 1 for o >= 0, else y + alpha.
                for k in 0..<(b * b) where o[k] < 0 { dy[k] *= yhat[k] + alpha }
                // dh' = dO Yt ; dYt = dO^T h' ; dby[target j] += sum_r dO[r, j]
                dy.withUnsafeBufferPointer { d in
                    yt.withUnsafeBufferPointer { y in
                        dh.withUnsafeMutableBufferPointer { dhp in
                            gemm(false, false, b, hd, b, 1, d.baseAddress!, b, y.baseAddress!, hd, 0, dhp.baseAddress!, hd)
                        }
                    }
                    dyt.withUnsafeMutableBufferPointer { dytp in
                        gemm(true, false, b, hd, b, 1, d.baseAddress!, b, cell.hNew, hd, 0, dytp.baseAddress!, hd)
                    }
                }
                for j in 0..<b {
                    let t = Int(targets[j])
                    var s: Float = 0
                    for r in 0..<b { s += dy[r * b + j] }
                    g.by[t] += s
                    for k in 0..<hd { g.wy[t * hd + k] += dyt[j * hd + k] }
                }
                dh.withUnsafeBufferPointer { dhp in
                    inputGrad.withUnsafeMutableBufferPointer { ig in
                        cell.backward(p, h: hp.baseAddress!, dhNew: dhp.baseAddress!, rows: b, grad: g, inputGrad: ig.baseAddress!)
                    }
                }
                let w = 3 * hd
                for r in 0..<b {
                    let x = Int(inputs[r])
                    for k in 0..<w { g.wx[x * w + k] += inputGrad[r * w + k] }
                }
                return loss
            }
        }
    }

    /// One optimiser step on one mini-batch; `h` is updated to the new hidden states.
    /// Returns the loss.
    @discardableResult
    public func trainStep(inputs: [Int32], targets: [Int32], h: inout [Float]) -> Float {
        let b = inputs.count
        let hd = self.hd, w = 3 * hd
        // Dense gradient parts are zeroed; sparse rows are zeroed only where touched.
        grad.bh.update(repeating: 0, count: w)
        grad.wrz.update(repeating: 0, count: hd * 2 * hd)
        grad.wh.update(repeating: 0, count: hd * hd)
        for x in inputs { (grad.wx + Int(x) * w).update(repeating: 0, count: w) }
        for t in targets { (grad.wy + Int(t) * hd).update(repeating: 0, count: hd); grad.by[Int(t)] = 0 }
        let loss = lossAndGradient(inputs: inputs, targets: targets, h: h, grad: grad)
        steps += 1
        // Dense tensors.
        update(grad.bh, params.bh, state1.bh, state2.bh, count: w)
        update(grad.wrz, params.wrz, state1.wrz, state2.wrz, count: hd * 2 * hd)
        update(grad.wh, params.wh, state1.wh, state2.wh, count: hd * hd)
        // Sparse rows, each distinct row once.
        for x in inputs where seenIn[Int(x)] != steps {
            seenIn[Int(x)] = steps
            let o = Int(x) * w
            update(grad.wx + o, params.wx + o, state1.wx + o, state2.wx + o, count: w)
        }
        for t in targets where seenOut[Int(t)] != steps {
            seenOut[Int(t)] = steps
            let o = Int(t) * hd
            update(grad.wy + o, params.wy + o, state1.wy + o, state2.wy + o, count: hd)
            update(grad.by + Int(t), params.by + Int(t), state1.by + Int(t), state2.by + Int(t), count: 1)
        }
        for k in 0..<(b * hd) { h[k] = cell.hNew[k] }
        return loss
    }

    /// Adagrad (+ momentum), as in the reference: acc += g^2; v = mu v - lr g / sqrt(acc + 1e-6);
    /// p += v. Adam: standard, with the global step count for bias correction (lazy on rows).
    @inline(__always)
    private func update(_ g: UnsafeMutablePointer<Float>, _ p: UnsafeMutablePointer<Float>,
                        _ s1: UnsafeMutablePointer<Float>, _ s2: UnsafeMutablePointer<Float>, count: Int) {
        let lr = config.learningRate, mu = config.momentum
        switch config.optimizer {
        case .adagrad:
            for k in 0..<count {
                s1[k] += g[k] * g[k]
                let step = lr * g[k] / (s1[k] + 1e-6).squareRoot()
                if mu > 0 { s2[k] = mu * s2[k] - step; p[k] += s2[k] } else { p[k] -= step }
            }
        case .adam:
            let b1: Float = 0.9, b2: Float = 0.999
            let c1 = 1 - powF(b1, Float(steps)), c2 = 1 - powF(b2, Float(steps))
            for k in 0..<count {
                s1[k] = b1 * s1[k] + (1 - b1) * g[k]
                s2[k] = b2 * s2[k] + (1 - b2) * g[k] * g[k]
                p[k] -= lr * (s1[k] / c1) / ((s2[k] / c2).squareRoot() + 1e-8)
            }
        }
    }

    /// Runs `config.epochs` epochs over `train`. Returns (events trained, seconds).
    @discardableResult
    public func train(_ train: SessionSet, progress: Bool = false,
                      epochDone: ((Int, Double) -> Void)? = nil) -> (events: Int, seconds: Double) {
        let sessions = (0..<train.count).filter { train.length(of: $0) >= 2 }
        let start = monotonicSeconds()
        var total = 0
        var reporter = ProgressReporter("gru4rec")
        for epoch in 0..<config.epochs {
            var h = [Float](repeating: 0, count: cap * hd)
            var slotSession = [Int](repeating: -1, count: cap)
            var slotPos = [Int](repeating: 0, count: cap)
            var next = 0
            for s in 0..<cap where next < sessions.count { slotSession[s] = sessions[next]; next += 1 }
            var inputs: [Int32] = [], targets: [Int32] = []
            var lossSum = 0.0, lossSteps = 0, events = 0
            while true {
                // Compact the active rows to the front (rows only drop out at the very end).
                var compact = [Int]()
                for s in 0..<cap where slotSession[s] >= 0 { compact.append(s) }
                if compact.isEmpty { break }
                if compact.count < cap && compact != Array(0..<compact.count) {
                    var nh = [Float](repeating: 0, count: cap * hd)
                    var ns = [Int](repeating: -1, count: cap), np = [Int](repeating: 0, count: cap)
                    for (j, s) in compact.enumerated() {
                        for k in 0..<hd { nh[j * hd + k] = h[s * hd + k] }
                        ns[j] = slotSession[s]; np[j] = slotPos[s]
                    }
                    h = nh; slotSession = ns; slotPos = np
                }
                let b = compact.count
                inputs.removeAll(keepingCapacity: true)
                targets.removeAll(keepingCapacity: true)
                for s in 0..<b {
                    let e = train.offsets[slotSession[s]] + slotPos[s]
                    inputs.append(train.items[e]); targets.append(train.items[e + 1])
                }
                lossSum += Double(trainStep(inputs: inputs, targets: targets, h: &h))
                lossSteps += 1
                events += b
                for s in 0..<b {
                    slotPos[s] += 1
                    if slotPos[s] + 1 >= train.length(of: slotSession[s]) {
                        for k in 0..<hd { h[s * hd + k] = 0 }
                        slotPos[s] = 0
                        if next < sessions.count { slotSession[s] = sessions[next]; next += 1 } else { slotSession[s] = -1 }
                    }
                }
                if progress && lossSteps % 256 == 0 {
                    reporter.tick("epoch \(epoch + 1)/\(config.epochs) events \(events) loss \(lossSum / Double(lossSteps)) \(Int(Double(total + events) / max(monotonicSeconds() - start, 1e-9))) events/s")
                }
            }
            total += events
            let mean = lossSum / Double(max(lossSteps, 1))
            if progress { reporter.finish("epoch \(epoch + 1)/\(config.epochs) mean loss \(mean)") }
            epochDone?(epoch, mean)
        }
        return (total, monotonicSeconds() - start)
    }
}
