import ArgumentParser
import Foundation
import IRNServer
import IRNSupport

/// `irn export`: a checkpoint (the cluster's or `irn train`'s) as an agent model file.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the model of a checkpoint as an agent model file (irn eval reads it).",
        discussion: """
        CHECKPOINT is a server checkpoint (CHECKPOINT_DIR/checkpoint-<step>.safetensors, e.g. of \
        a cluster stopped early) or an irn train checkpoint (OUT.checkpoint.safetensors). The \
        model gets the checkpoint's current weights, agent settings, data fingerprint and item \
        map. `irn eval --model CHECKPOINT` evaluates a checkpoint without exporting it.
        """
    )

    @Argument(help: "Checkpoint file.")
    var checkpoint: String

    @Option(help: "Model file to write (safetensors, format irn-agent).")
    var out: String

    func run() throws {
        do {
            let url = URL(fileURLWithPath: checkpoint)
            guard FileManager.default.fileExists(atPath: url.path) else { throw IRNError("checkpoint not found", file: url.path) }
            guard CheckpointModel.isCheckpoint(url) else {
                throw IRNError("not a checkpoint (neither a server checkpoint nor an irn train checkpoint)", file: url.path)
            }
            let model = try CheckpointModel.read(url)
            try model.write(to: URL(fileURLWithPath: out))
            print("\(out): \(model.config.algorithm.rawValue) model, \(model.config.items) items x \(model.config.hidden) units, from \(checkpoint)")
        } catch let e as IRNError {
            printError("error: \(e)")
            throw ExitCode.failure
        }
    }
}
