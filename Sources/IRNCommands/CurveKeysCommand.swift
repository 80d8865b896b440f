import ArgumentParser
import Foundation
import IRNSupport
import ZeroMQ

/// `irn curve-keygen`: a CURVE key pair for the server or an actor.
struct CurveKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curve-keygen",
        abstract: "Generate a CURVE key pair (Z85) for irn-server or irn-actor.",
        discussion: """
        Writes NAME.key (secret key, mode 600) and NAME.pub (public key) into --dir. Give the \
        server its .key (--curve-secret-key) and the list of allowed actor .pub keys \
        (--curve-allowed-keys, one key per line); give each actor its own .key and the \
        server's .pub.
        """
    )

    @Option(help: "Base name of the files.")
    var name: String

    @Option(help: "Directory to write the files into.")
    var dir: String = "."

    @Flag(help: "Replace existing files.")
    var force = false

    func run() throws {
        guard ZMQ.has("curve") else { throw IRNError("this libzmq has no CURVE support") }
        let keys = try CurveKeyPair.generate()
        let base = URL(fileURLWithPath: dir).appendingPathComponent(name)
        let secret = base.appendingPathExtension("key"), pub = base.appendingPathExtension("pub")
        for f in [secret, pub] where !force && FileManager.default.fileExists(atPath: f.path) {
            throw IRNError("exists (use --force to replace)", file: f.path)
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try AtomicFile.write(Data((keys.secretKey + "\n").utf8), to: secret)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
        try AtomicFile.write(Data((keys.publicKey + "\n").utf8), to: pub)
        print("secret key: \(secret.path)\npublic key: \(pub.path) (\(keys.publicKey))")
    }
}

/// Reads CURVE key files written by `irn curve-keygen` (or any file of Z85 keys, one a line,
/// '#' comments allowed).
enum CurveKeyFiles {
    static func keys(in path: String) throws -> [String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw IRNError("cannot read key file: \(error.localizedDescription)", file: path)
        }
        var out: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard Curve.isValidKey(line) else {
                throw IRNError("not a 40-character Z85 CURVE key", file: path, line: i + 1)
            }
            out.append(line)
        }
        return out
    }

    static func singleKey(in path: String) throws -> String {
        let k = try keys(in: path)
        guard k.count == 1 else { throw IRNError("expected exactly one key, found \(k.count)", file: path) }
        return k[0]
    }
}
