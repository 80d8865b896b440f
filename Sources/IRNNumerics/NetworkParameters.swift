import IRNSupport

/// Sizes of the actor-critic network: N items, H LSTM units.
public struct NetworkShape: Sendable, Hashable, Codable {
    public var items: Int
    public var hidden: Int
    public init(items: Int, hidden: Int) {
        precondition(items > 0 && hidden > 0, "network needs at least one item and one unit")
        self.items = items
        self.hidden = hidden
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
        }
    }

    /// Shape as written in checkpoints (vectors are 1-D).
    public func tensorShape(_ s: NetworkShape) -> [Int] {
        let d = dimensions(s)
        switch self {
        case .gateBias, .valueWeights: return [d.width]
        case .policyBias: return [d.rows]
        case .valueBias: return [1]
        default: return [d.rows, d.width]
        }
    }

    public func count(_ s: NetworkShape) -> Int { let d = dimensions(s); return d.rows * d.width }
}

/// All parameters of the network (value type: copying it gives a frozen target network).
public struct NetworkParameters: Sendable, Equatable {
    public let shape: NetworkShape
    /// One flat array per `ParameterGroup`, indexed by its raw value.
    public var tensors: [[Float]]

    /// Zero parameters.
    public init(shape: NetworkShape) {
        self.shape = shape
        tensors = ParameterGroup.allCases.map { [Float](repeating: 0, count: $0.count(shape)) }
    }

    /// Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out)) with the fans of the whole
    /// matrix, as TensorFlow's Xavier initialiser), zero biases except the LSTM forget gate.
    public init(shape: NetworkShape, seed: UInt64, forgetBias: Float = 1) {
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
            if i == ParameterGroup.allCases.count { return try body(list) }
            let g = ParameterGroup.allCases[i]
            return try tensors[i].withUnsafeBufferPointer { p in
                list.append((g.name, g.tensorShape(shape), p))
                return try recurse(i + 1)
            }
        }
        return try recurse(0)
    }

    /// Builds parameters from named tensors (e.g. read from a checkpoint), checking that
    /// every group is present with the right shape.
    public init(shape: NetworkShape, named: [String: (shape: [Int], values: [Float])]) throws {
        self.init(shape: shape)
        for g in ParameterGroup.allCases {
            guard let t = named[g.name] else { throw IRNError("missing tensor \(g.name)") }
            guard t.shape == g.tensorShape(shape), t.values.count == g.count(shape) else {
                throw IRNError("tensor \(g.name) has shape \(t.shape), expected \(g.tensorShape(shape))")
            }
            tensors[g.rawValue] = t.values
        }
    }
}
