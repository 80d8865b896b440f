import IRNNumerics
import IRNSupport
import IRNWire

/// The cluster's self-test model (`irn-server --self-test`): one Float per training session,
/// counting how often the session was visited. Actors running `VisitCountProducer` push +1 on
/// each session they walk, so after E epochs every entry must be exactly E: a check, through
/// real processes and sockets, of "every session once per epoch, nothing lost" across actor
/// kills, joins and server restarts. It learns nothing.
public final class VisitCountStore: ParameterStore {
    public static let parameterName = "visits"
    public private(set) var version: UInt64 = 0
    public private(set) var visits: [Float]
    private var targetVisits: [Float]

    public init(sessions: Int) {
        visits = Array(repeating: 0, count: sessions)
        targetVisits = visits
    }

    public func apply(views: [TensorPartView]) throws -> [String: WeightChange] {
        let gradient = views.map(\.part)
        guard gradient.count == 1, let g = gradient.first, g.name == Self.parameterName, g.shape == [visits.count] else {
            throw ModelRejection("part_shape", "visit-count gradients are one part \"visits\" of shape [\(visits.count)]")
        }
        if let rows = g.rows {
            for (i, r) in rows.enumerated() { visits[Int(r)] += g.values[i] }
            version += 1
            return [Self.parameterName: .rows(rows)]
        }
        for i in visits.indices { visits[i] += g.values[i] }
        version += 1
        return [Self.parameterName: .all]
    }

    public func weights(_ selection: [String: WeightChange]?) -> [TensorPart] {
        switch selection?[Self.parameterName] {
        case .rows(let rows)?:
            return [.rowSparse(Self.parameterName, shape: [visits.count], rows: rows, values: rows.map { visits[Int($0)] })]
        case nil where selection != nil:
            return []
        default:
            return [.dense(Self.parameterName, shape: [visits.count], values: visits)]
        }
    }

    public func target() -> [TensorPart] { [.dense(Self.parameterName, shape: [visits.count], values: targetVisits)] }
    public func refreshTarget() { targetVisits = visits }

    public func checkpointTensors() -> [String: SafetensorsTensor] {
        ["visits": SafetensorsTensor(floats: visits, shape: [visits.count]),
         "target.visits": SafetensorsTensor(floats: targetVisits, shape: [visits.count]),
         "version": SafetensorsTensor(int64s: [Int64(version)], shape: [1])]
    }

    public func restore(from t: [String: SafetensorsTensor]) throws {
        guard let v = t["visits"], let tv = t["target.visits"], let ver = try t["version"]?.int64s().first,
              v.shape == [visits.count], tv.shape == [visits.count], ver >= 0 else {
            throw IRNError("checkpoint is not a visit-count model of \(visits.count) sessions")
        }
        visits = try v.floats()
        targetVisits = try tv.floats()
        version = UInt64(ver)
    }

    /// nil if every session was visited exactly `epochs` times, else a description of the misses.
    public func check(epochs: Int) -> String? {
        let wrong = visits.enumerated().filter { $0.element != Float(epochs) }
        guard !wrong.isEmpty else { return nil }
        let sample = wrong.prefix(5).map { "session \($0.offset): \($0.element)" }.joined(separator: ", ")
        return "\(wrong.count) of \(visits.count) sessions not visited exactly \(epochs) time(s) (\(sample))"
    }
}
