import ArgumentParser
import Foundation
import IRNFuzz
import IRNSupport

/// `irn fuzz`: structured fuzzing of a running irn-server's ports and of HTTP servers.
struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Fuzz a running irn-server (ZeroMQ ports P, P+1, P+2) and HTTP ports (irn-server's P+3, irn serve) with structured messages.",
        discussion: """
        Messages are built valid with the wire format (hello, heartbeat, gradient pushes on the \
        server's real parameter shapes, weights and stats requests, lease messages) and then one \
        field is mutated: version, kind, flags, frame counts and lengths, checksum, body fields, \
        strings, part names, shapes, row indices, NaN/Inf/huge values, bf16 flags, counts, \
        leases, unknown actors; a minority are random bytes. P+1 (PUB) gets raw ZMTP peers with \
        mutated greetings, READY commands and subscriptions. HTTP gets mutated request lines, \
        headers (Content-Length lies, chunked garbage, huge headers) and JSON bodies.

        On P every message is followed by a stats request on the same connection, so each \
        refusal the server counts is matched to its message: the reason must be the one the \
        decoder gives locally (or a server-level reason for messages that decode). Afterwards \
        the fuzzer checks that every port answers, the weights and target are finite and a \
        subscriber still gets broadcasts. Deterministic per --seed. Prints the JSON report \
        (or writes --out); exits 1 if any check failed. Do not point it at a production run: \
        it applies gradients.
        """
    )

    @Option(help: "The server's actor endpoint, tcp://HOST:P (fuzzes P, P+1 and P+2).")
    var target: String?

    @Option(help: "An HTTP endpoint to fuzz, http://HOST:PORT (repeatable): irn-server's P+3, irn serve.")
    var http: [String] = []

    @Option(help: "Messages per port.")
    var messages = 10_000

    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 1

    @Option(help: "Seconds to wait for an answer before counting a timeout.")
    var timeout: Double = 5

    @Option(help: "ZeroMQ ports of --target to fuzz, comma-separated: P, P+1, P+2.")
    var ports = "P,P+1,P+2"

    @Option(help: "Write the JSON report here instead of standard output.")
    var out: String?

    func validate() throws {
        guard target != nil || !http.isEmpty else { throw ValidationError("give --target tcp://HOST:P and/or --http http://HOST:PORT") }
        guard messages >= 1 else { throw ValidationError("--messages must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be > 0") }
        let known: Set<String> = ["P", "P+1", "P+2"]
        for p in ports.split(separator: ",") where !known.contains(String(p)) {
            throw ValidationError("--ports takes P, P+1, P+2, got '\(p)'")
        }
    }

    func run() throws {
        var o = FuzzOptions()
        o.target = target
        o.http = http
        o.messages = messages
        o.seed = seed
        o.timeout = timeout
        o.zmqPorts = Set(ports.split(separator: ",").map(String.init))
        let (json, passed) = try FuzzRun.run(o) { line in
            FileHandle.standardError.write(Data(("irn fuzz: " + line + "\n").utf8))
        }
        if let out {
            try AtomicFile.write(Data((json + "\n").utf8), to: URL(fileURLWithPath: out))
        } else {
            print(json)
        }
        if !passed { throw ExitCode.failure }
    }
}
