import ArgumentParser

/// `irn-actor`: one actor of the cluster (built by the cluster issue).
public struct ActorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "irn-actor",
        abstract: "Actor of the IRN cluster (not yet available in this build)."
    )
    public init() {}
}
