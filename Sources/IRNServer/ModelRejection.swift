/// Why a model refused a well-formed gradient, as a stable reason label for the server's
/// `rejected` counters (`PrometheusText.rejectionReasons`) and a detail for the log.
public struct ModelRejection: Error, CustomStringConvertible, Sendable {
    /// One of `part_unknown`, `part_shape`, `part_duplicate`, `part_missing`.
    public var reason: String
    public var detail: String

    public init(_ reason: String, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { detail }
}
