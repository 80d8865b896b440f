import IRNSupport

/// Sizes of the actor-critic network: N items, H LSTM units, and its policy head (which
/// decides the tensors present: the repeat head adds `head.gate.*`).
public struct NetworkShape: Sendable, Hashable, Codable {
    public var items: Int
    public var hidden: Int
    public var head: PolicyHead
    public init(items: Int, hidden: Int, head: PolicyHead = .plain) {
        precondition(items > 0 && hidden > 0, "network needs at least one item and one unit")
        self.items = items
        self.hidden = hidden
        self.head = head
    }

    private enum CodingKeys: String, CodingKey { case items, hidden, head }
    /// A shape written without a head is the plain head's.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(items: try c.decode(Int.self, forKey: .items), hidden: try c.decode(Int.self, forKey: .hidden),
                  head: try c.decodeIfPresent(PolicyHead.self, forKey: .head) ?? .plain)
    }

    /// The parameter groups this network has, in `rawValue` order (the plain head's seven,
    /// then the repeat head's gate).
    public var parameterGroups: [ParameterGroup] {
        switch head.kind {
        case .plain: return ParameterGroup.plainGroups
        case .repeatAware: return ParameterGroup.repeatGroups
        case .repeatNext: return ParameterGroup.allCases
        }
    }
}

/// The parameter tensors of the network, each a row-major matrix. Gate order inside the
/// 4H gate vectors is (input, forget, cell, output).
///
/// The policy head is stored item-major, [N x H] (as PyTorch's `Linear.weight`), so that the
/// output column of an item is one contiguous row: sparse logit errors touch rows.
public enum ParameterGroup: Int, CaseIterable, Sendable {
    /// W_x [N x 4H]: LSTM input weights; a one-hot item input is a row look-up.
    case inputWeights
    /// W_h [H x 4H]: LSTM recurrent weights (gates = x W_x + h W_h + b).
    case recurrentWeights
    /// b [4H]: LSTM gate bias (forget part initialised to the forget bias).
    case gateBias
    /// W_p^T [N x H]: policy logits z = h W_p + b_p.
    case policyWeights
    /// b_p [N].
    case policyBias
    /// w_v [H]: value V = h . w_v + b_v.
    case valueWeights
    /// b_v [1].
    case valueBias
    /// W_g [4 x H]: the repeat head's gate g(h) = W_g h + b_g (repeat head only).
    case repeatGateWeights
    /// b_g [4] (repeat head only).
    case repeatGateBias
    /// W_n [4 x H]: the repeat-next head's candidate gate g_n(h) = W_n h + b_n.
    case nextGateWeights
    /// b_n [4] (repeat-next head only).
    case nextGateBias

    /// The groups of the plain (paper's) head.
    public static let plainGroups: [ParameterGroup] = [.inputWeights, .recurrentWeights, .gateBias, .policyWeights, .policyBias, .valueWeights, .valueBias]
    /// The groups of the repeat head (the plain head's and its gate).
    public static let repeatGroups: [ParameterGroup] = plainGroups + [.repeatGateWeights, .repeatGateBias]

    /// Name in checkpoints.
    public var name: String {
        switch self {
        case .inputWeights: return "lstm.input_weights"
        case .recurrentWeights: return "lstm.recurrent_weights"
        case .gateBias: return "lstm.bias"
        case .policyWeights: return "policy.weight"
        case .policyBias: return "policy.bias"
        case .valueWeights: return "value.weight"
        case .valueBias: return "value.bias"
        case .repeatGateWeights: return "head.gate.weight"
        case .repeatGateBias: return "head.gate.bias"
        case .nextGateWeights: return "head.next_gate.weight"
        case .nextGateBias: return "head.next_gate.bias"
        }
    }

    /// (rows, row width) of the tensor. Row-sparse gradients address these rows.
    public func dimensions(_ s: NetworkShape) -> (rows: Int, width: Int) {
        switch self {
        case .inputWeights: return (s.items, 4 * s.hidden)
        case .recurrentWeights: return (s.hidden, 4 * s.hidden)
        case .gateBias: return (1, 4 * s.hidden)
        case .policyWeights: return (s.items, s.hidden)
        case .policyBias: return (s.items, 1)
        case .valueWeights: return (1, s.hidden)
        case .valueBias: return (1, 1)
        case .repeatGateWeights: return (4, s.hidden)
        case .repeatGateBias, .nextGateBias: return (1, 4)
        case .nextGateWeights: return (4, s.hidden)
        }
    }

    /// Shape as written in checkpoints (vectors are 1-D).
    public func tensorShape(_ s: NetworkShape) -> [Int] {
        let d = dimensions(s)
        switch self {
        case .gateBias, .valueWeights, .repeatGateBias, .nextGateBias: return [d.width]
        case .policyBias: return [d.rows]
        case .valueBias: return [1]
        default: return [d.rows, d.width]
        }
    }

    public func count(_ s: NetworkShape) -> Int { let d = dimensions(s); return d.rows * d.width }
}

/// All parameters of the network (value type: copying it gives a frozen target network).
public struct NetworkParameters: Sendable, Equatable {
    public private(set) var shape: NetworkShape
    /// One flat array per `ParameterGroup`, indexed by its raw value.
    public var tensors: [[Float]]

    /// Zero parameters.
    public init(shape: NetworkShape) {
        self.shape = shape
        tensors = shape.parameterGroups.map { [Float](repeating: 0, count: $0.count(shape)) }
    }

    /// Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out)) with the fans of the whole
    /// matrix, as TensorFlow's Xavier initialiser), zero biases except the LSTM forget gate.
    /// Repeat head: W_g = 0 and b_g = `repeatGateBias` (default 0); the random draws are the
    /// plain head's, so both heads start from the same base network.
    public init(shape: NetworkShape, seed: UInt64, forgetBias: Float = 1, repeatGateBias: [Float]? = nil) {
        self.init(shape: shape)
        var rng = RandomSource(seed: seed)
        let n = shape.items, h = shape.hidden
        func glorot(_ g: ParameterGroup, fanIn: Int, fanOut: Int) {
            let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            tensors[g.rawValue].withUnsafeMutableBufferPointer { p in
                for i in p.indices { p[i] = (2 * rng.nextFloat() - 1) * limit }
            }
        }
        glorot(.inputWeights, fanIn: n, fanOut: 4 * h)
        glorot(.recurrentWeights, fanIn: h, fanOut: 4 * h)
        glorot(.policyWeights, fanIn: h, fanOut: n)
        glorot(.valueWeights, fanIn: h, fanOut: 1)
        for j in h..<(2 * h) { tensors[ParameterGroup.gateBias.rawValue][j] = forgetBias }
        if let repeatGateBias {
            precondition(shape.head.isRepeat, "gate initial values given for a plain head")
            precondition(repeatGateBias.count == 4, "the gate has 4 outputs")
            tensors[ParameterGroup.repeatGateBias.rawValue] = repeatGateBias
        }
        if shape.head.hasNext { tensors[ParameterGroup.nextGateBias.rawValue] = shape.head.nextGateInit }
    }

    /// Repeat-next head: attaches the transition table built from `split` (see
    /// `PolicyHead.attach`; a table other than the recorded one is refused).
    public mutating func attachTransitions(_ table: TransitionTable, split: String) throws {
        try shape.head.attach(table, split: split)
    }

    public subscript(_ g: ParameterGroup) -> [Float] {
        get { tensors[g.rawValue] }
        set { tensors[g.rawValue] = newValue }
    }

    /// Total number of scalars.
    public var scalarCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// Every tensor with its checkpoint name and shape, for writers such as safetensors.
    public func withNamedTensors<R>(_ body: ([(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)]) throws -> R) rethrows -> R {
        var list: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)] = []
        func recurse(_ i: Int) throws -> R {
            let groups = shape.parameterGroups
            if i == groups.count { return try body(list) }
            let g = groups[i]
            return try tensors[i].withUnsafeBufferPointer { p in
                list.append((g.name, g.tensorShape(shape), p))
                return try recurse(i + 1)
            }
        }
        return try recurse(0)
    }

    /// Builds parameters from named tensors (e.g. read from a checkpoint), checking that
    /// every group is present with the right shape (and that a plain head gets no gate).
    public init(shape: NetworkShape, named: [String: (shape: [Int], values: [Float])]) throws {
        self.init(shape: shape)
        if !shape.head.isRepeat, let extra = [ParameterGroup.repeatGateWeights, .repeatGateBias].first(where: { named[$0.name] != nil }) {
            throw IRNError("the tensors hold \(extra.name), which only the repeat head has, but a plain head was asked for (use --head repeat)")
        }
        if !shape.head.hasNext, let extra = [ParameterGroup.nextGateWeights, .nextGateBias].first(where: { named[$0.name] != nil }) {
            throw IRNError("the tensors hold \(extra.name), which only the repeat-next head has, but \(shape.head) was asked for (use --head repeat-next)")
        }
        for g in shape.parameterGroups {
            guard let t = named[g.name] else {
                if g == .nextGateWeights || g == .nextGateBias {
                    throw IRNError("missing tensor \(g.name): these parameters have no repeat-next head")
                }
                if g == .repeatGateWeights || g == .repeatGateBias {
                    throw IRNError("missing tensor \(g.name): these parameters have no repeat head (use --head plain)")
                }
                throw IRNError("missing tensor \(g.name)")
            }
            guard t.shape == g.tensorShape(shape), t.values.count == g.count(shape) else {
                throw IRNError("tensor \(g.name) has shape \(t.shape), expected \(g.tensorShape(shape))")
            }
            tensors[g.rawValue] = t.values
        }
    }
}
