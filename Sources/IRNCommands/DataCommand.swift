import ArgumentParser

/// `irn data ...`: preparing, generating and describing session data.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare, generate and describe session data.",
        subcommands: [DataPrepareCommand.self, DataSynthCommand.self, DataStatsCommand.self]
    )
}
