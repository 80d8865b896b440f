/// The preprocessing knobs of `irn data prepare` (docs/algorithm.md#data-and-preprocessing); stored in dataset.json.
public struct PrepareOptions: Sendable, Codable, Equatable {
    /// Keep sessions whose first event lies within this many days of the data's last event
    /// (0 = keep all).
    public var days: Double = 30
    /// Test = sessions whose last event is at or after (last event time - testDays).
    public var testDays: Double = 3
    /// Validation = train sessions whose last event is at or after (test cut - validDays).
    public var validDays: Double = 1
    /// Keep sessions without a purchase too.
    public var allSessions: Bool = false
    /// Minimum events per item and per session, applied repeatedly until stable.
    public var minItemEvents: Int = 5
    public var minSessionLength: Int = 2
    /// Number of shards sessions are assigned to by a stable hash of their id.
    public var shards: Int = 64

    public init(days: Double = 30, testDays: Double = 3, validDays: Double = 1, allSessions: Bool = false,
                minItemEvents: Int = 5, minSessionLength: Int = 2, shards: Int = 64) {
        self.days = days
        self.testDays = testDays
        self.validDays = validDays
        self.allSessions = allSessions
        self.minItemEvents = minItemEvents
        self.minSessionLength = minSessionLength
        self.shards = shards
    }

    enum CodingKeys: String, CodingKey {
        case days, testDays = "test_days", validDays = "valid_days", allSessions = "all_sessions"
        case minItemEvents = "min_item_events", minSessionLength = "min_session_length", shards
    }
}

let millisPerDay: Double = 86_400_000
