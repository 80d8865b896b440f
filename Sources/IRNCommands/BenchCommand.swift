import ArgumentParser

/// `irn bench ...`: speed measurements (use a release build).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks; build with -c release before trusting a figure.",
        subcommands: [BenchStepCommand.self, BenchTrainCommand.self, BaselineBenchCommand.self, BenchServerCommand.self, BenchServeCommand.self]
    )
}
