import IRNNumerics

/// What changed in one parameter since some version: the whole tensor, or some rows (sorted,
/// unique). The server collects these between broadcasts; a replica between reads.
public enum WeightChange: Sendable, Equatable {
    case all
    case rows([Int32])

    /// The change of a received part: its rows, or everything for a dense part.
    public init(of part: TensorPart) {
        self = part.rows.map { .rows($0) } ?? .all
    }

    /// Union of two changes (rows stay sorted and unique; a linear merge).
    public func merged(with other: WeightChange) -> WeightChange {
        switch (self, other) {
        case (.all, _), (_, .all): return .all
        case let (.rows(a), .rows(b)):
            var out: [Int32] = []
            out.reserveCapacity(a.count + b.count)
            var i = 0, j = 0
            while i < a.count || j < b.count {
                let x: Int32
                if j == b.count || (i < a.count && a[i] < b[j]) {
                    x = a[i]; i += 1
                } else {
                    if i < a.count && a[i] == b[j] { i += 1 }
                    x = b[j]; j += 1
                }
                out.append(x)
            }
            return .rows(out)
        }
    }
}

extension Dictionary where Key == String, Value == WeightChange {
    /// Adds `change` to the record of parameter `name`.
    public mutating func merge(_ name: String, _ change: WeightChange) {
        self[name] = self[name].map { $0.merged(with: change) } ?? change
    }
}
