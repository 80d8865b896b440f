import ArgumentParser

/// `irn-server`: the parameter server (built by the cluster issue).
public struct ServerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "irn-server",
        abstract: "Parameter server of the IRN cluster (not yet available in this build)."
    )
    public init() {}
}
