import ArgumentParser

/// `irn`: everything a person runs by hand. Each subcommand lives in its own file.
public struct IRNRoot: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "irn",
        abstract: "Session-based recommendation by imagination reconstruction (IRN).",
        discussion: """
        Prepare data, train agents in one process, evaluate models and baselines, run \
        benchmarks and read a running cluster's stats. The cluster itself runs as \
        `irn-server` and `irn-actor`.
        """,
        subcommands: [
            DataCommand.self, TrainCommand.self, BaselineCommand.self, EvalCommand.self, ExportCommand.self, BenchCommand.self,
            StatsCommand.self, CurveKeysCommand.self, ServeCommand.self, FuzzCommand.self,
        ]
    )
    public init() {}
}
