extension WireEnvelope {
    /// Header flag of a `weightsRequest` from a read-only subscriber (`irn serve --follow`):
    /// the server answers it with a lease-free copy of the weights even though the sender
    /// never said Hello. Without the flag an unknown sender is told to say Hello (actors).
    public static let readOnlySubscriberFlag: UInt32 = 1
}
