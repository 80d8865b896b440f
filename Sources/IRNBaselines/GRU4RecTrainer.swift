import IRNData
import IRNSupport
import Foundation

/// Trains GRU4Rec with session-parallel mini-batches: `batchSize` rows each run through one
/// session; every step feeds each row's current item and predicts its next one; a row whose
/// session ends takes the next session with its hidden state reset to zero; rows drop out
/// when no sessions are left (the epoch ends when fewer than two remain, as in the reference). The loss of a step is BPR-max (or cross-entropy, `Config.loss`) over the scores of the rows'
/// hidden states against the rows' targets (and `negativeSamples` extra items shared by the
/// batch, drawn with probability proportional to popularity^sampleAlpha, as the reference's
/// n_sample / sample_alpha), summed over rows / batchSize.
public final class GRU4RecTrainer {
    public let config: GRU4RecModel.Config
    public let params: GRUParameters
    let grad: GRUParameters          // dense gradient buffer (bh, wrz, wh used; sparse rows aside)
    let state1: GRUParameters        // Adagrad accumulator / Adam first moment
    let state2: GRUParameters        // momentum velocity / Adam second moment
    let cell: GRUCell
    let n: Int, hd: Int, cap: Int, extra: Int
    var sampler: [Double] = []       // cumulative sampling distribution of extra negatives
    var rng: RandomSource
    var outputs: [Int32] = []        // targets then samples of the current step
    // Per-step buffers (raw memory: these loops are hot, and class-held arrays would pay
    // exclusivity checks on every element access).
    let yt, o, yhat, dy, dh, dyt, inputGrad: UnsafeMutablePointer<Float>
    let seenIn, seenOut: UnsafeMutablePointer<Int>  // item -> last step whose row update covered it
    public private(set) var steps = 0

    public init(itemCount: Int, config: GRU4RecModel.Config) {
        self.config = config
        n = itemCount
        hd = config.hidden
        cap = config.batchSize
        extra = config.negativeSamples
        rng = RandomSource(seed: config.seed, stream: 0x6A1)
        params = GRUParameters.initialised(itemCount: itemCount, hidden: hd, seed: config.seed)
        grad = GRUParameters(itemCount: itemCount, hidden: hd)
        state1 = GRUParameters(itemCount: itemCount, hidden: hd)
        state2 = GRUParameters(itemCount: itemCount, hidden: hd)
        cell = GRUCell(hidden: hd, capacity: cap)
        let m = cap + extra
        func floats(_ k: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: k)
            p.initialize(repeating: 0, count: k)
            return p
        }
        yt = floats(m * hd); dyt = floats(m * hd)
        o = floats(cap * m); dy = floats(cap * m); yhat = floats(cap * m)
        dh = floats(cap * hd); inputGrad = floats(cap * 3 * hd)
        seenIn = .allocate(capacity: itemCount); seenIn.initialize(repeating: -1, count: itemCount)
        seenOut = .allocate(capacity: itemCount); seenOut.initialize(repeating: -1, count: itemCount)
    }

    deinit {
        for p in [yt, dyt, o, dy, yhat, dh, inputGrad] { p.deallocate() }
        seenIn.deallocate(); seenOut.deallocate()
    }

    public var model: GRU4RecModel { GRU4RecModel(parameters: params.copy()) }

    /// Sets the popularity (training events per item) that extra negatives are drawn from.
    public func setSamplingPopularity(_ counts: [Float]) {
        precondition(counts.count == n)
        var total = 0.0
        sampler = counts.map { c in
            total += c > 0 ? pow(Double(c), Double(config.sampleAlpha)) : 0  // only items seen in training
            return total
        }
        if total > 0 { sampler = sampler.map { $0 / total } }
    }

    private func drawNegative() -> Int32 {
        if sampler.isEmpty { return Int32(rng.nextInt(below: n)) }
        let u = rng.nextDouble()
        var lo = 0, hi = n - 1
        while lo < hi { let mid = (lo + hi) / 2; if sampler[mid] < u { lo = mid + 1 } else { hi = mid } }
        return Int32(lo)
    }

    /// Loss of one mini-batch step and its gradient: dense parts into `grad` (bh, wrz, wh),
    /// the sparse rows into `grad.wx` / `grad.wy` / `grad.by` (scattered, accumulating).
    /// `grad` must be zeroed by the caller. Used by training and by the gradient check.
    /// `negatives` are extra sampled items scored by every row (at most negativeSamples).
    public func lossAndGradient(inputs: [Int32], targets: [Int32], negatives: [Int32] = [], h: [Float],
                                grad g: GRUParameters) -> Float {
        let b = inputs.count
        precondition(b <= cap && targets.count == b && h.count >= b * hd && negatives.count <= extra)
        let outs = targets + negatives
        let m = outs.count
        let p = params
        let alpha = config.eluAlpha
        return h.withUnsafeBufferPointer { hp in
            inputs.withUnsafeBufferPointer { inp in
                cell.forward(p, inputs: inp.baseAddress!, h: hp.baseAddress!, rows: b)
                // Output: O (b x m) = h' Yt^T + by[outputs], then elu.
                let yt = self.yt, o = self.o, yhat = self.yhat, dy = self.dy, dyt = self.dyt
                for j in 0..<m { (yt + j * hd).update(from: p.wy + Int(outs[j]) * hd, count: hd) }
                for j in 0..<m { o[j] = p.by[Int(outs[j])] }
                for r in 1..<max(b, 1) { (o + r * m).update(from: o, count: m) }
                gemm(false, true, b, m, hd, 1, cell.hNew, hd, yt, hd, 1, o, m)
                let loss: Float
                switch config.loss {
                case .bprMax:
                    // yhat = elu(o)
                    for k in 0..<(b * m) { let v = o[k]; yhat[k] = v >= 0 ? v : alpha * (expF(v) - 1) }
                    loss = BPRMax.lossAndGradient(y: yhat, batch: b, columns: m, bpreg: config.bpreg,
                                                  scale: 1 / Float(config.batchSize), grad: dy)
                    // Through elu: d/do = 1 for o >= 0, else y + alpha.
                    for k in 0..<(b * m) where o[k] < 0 { dy[k] *= yhat[k] + alpha }
                case .crossEntropy:
                    loss = SampledSoftmax.lossAndGradient(y: o, batch: b, columns: m, scale: 1 / Float(config.batchSize), grad: dy)
                }
                // dh' = dO Yt ; dYt = dO^T h' ; dby[output j] += sum_r dO[r, j]
                gemm(false, false, b, hd, m, 1, dy, m, yt, hd, 0, dh, hd)
                gemm(true, false, m, hd, b, 1, dy, m, cell.hNew, hd, 0, dyt, hd)
                for r in 1..<max(b, 1) { let row = dy + r * m; for j in 0..<m { dy[j] += row[j] } }  // column sums into row 0
                for j in 0..<m {
                    let t = Int(outs[j])
                    g.by[t] += dy[j]
                    let gw = g.wy + t * hd, src = dyt + j * hd
                    for k in 0..<hd { gw[k] += src[k] }
                }
                cell.backward(p, h: hp.baseAddress!, dhNew: dh, rows: b, grad: g, inputGrad: inputGrad)
                let w = 3 * hd
                for r in 0..<b {
                    let gw = g.wx + Int(inputs[r]) * w, src = inputGrad + r * w
                    for k in 0..<w { gw[k] += src[k] }
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
        outputs.removeAll(keepingCapacity: true)
        outputs.append(contentsOf: targets)
        for _ in 0..<extra { outputs.append(drawNegative()) }
        let negatives = Array(outputs[b...])
        let hd = self.hd, w = 3 * hd
        // Dense gradient parts are zeroed; sparse rows are zeroed only where touched.
        grad.bh.update(repeating: 0, count: w)
        grad.wrz.update(repeating: 0, count: hd * 2 * hd)
        grad.wh.update(repeating: 0, count: hd * hd)
        for x in inputs { (grad.wx + Int(x) * w).update(repeating: 0, count: w) }
        for t in outputs { (grad.wy + Int(t) * hd).update(repeating: 0, count: hd); grad.by[Int(t)] = 0 }
        let loss = lossAndGradient(inputs: inputs, targets: targets, negatives: negatives, h: h, grad: grad)
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
        for t in outputs where seenOut[Int(t)] != steps {
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
            // 8 lanes at a time: this runs over every touched row each step (2,000+ rows with
            // sampled negatives), and the scalar loop with sqrt and divide did not vectorise.
            var k = 0
            let lrv = SIMD8<Float>(repeating: lr), muv = SIMD8<Float>(repeating: mu), eps = SIMD8<Float>(repeating: 1e-6)
            while k + 8 <= count {
                let gv = UnsafeRawPointer(g + k).loadUnaligned(as: SIMD8<Float>.self)
                let acc = UnsafeRawPointer(s1 + k).loadUnaligned(as: SIMD8<Float>.self) + gv * gv
                UnsafeMutableRawPointer(s1 + k).storeBytes(of: acc, as: SIMD8<Float>.self)
                let step = lrv * gv / (acc + eps).squareRoot()
                let pv = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
                if mu > 0 {
                    let v = muv * UnsafeRawPointer(s2 + k).loadUnaligned(as: SIMD8<Float>.self) - step
                    UnsafeMutableRawPointer(s2 + k).storeBytes(of: v, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(p + k).storeBytes(of: pv + v, as: SIMD8<Float>.self)
                } else {
                    UnsafeMutableRawPointer(p + k).storeBytes(of: pv - step, as: SIMD8<Float>.self)
                }
                k += 8
            }
            while k < count {
                s1[k] += g[k] * g[k]
                let step = lr * g[k] / (s1[k] + 1e-6).squareRoot()
                if mu > 0 { s2[k] = mu * s2[k] - step; p[k] += s2[k] } else { p[k] -= step }
                k += 1
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
        if extra > 0 && sampler.isEmpty {
            var counts = [Float](repeating: 0, count: n)
            for i in train.items { counts[Int(i)] += 1 }
            setSamplingPopularity(counts)
        }
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
                // As the reference: stop when no row is left, or a single row and no sampled
                // negatives (BPR-max would have nothing to compare against).
                if compact.isEmpty || (compact.count < 2 && extra == 0) { break }
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
