import ArgumentParser
import Foundation
import IRNSupport

/// The one entry point of `irn`, `irn-server` and `irn-actor`, so every command fails the
/// same way: one line on stderr and an exit status by the kind of mistake.
///
/// Exit statuses:
/// - 0: done (also `--help`);
/// - 1: the input was wrong or the work failed: a missing or unreadable file, a data set
///   that is empty or not the server's, a server that does not answer;
/// - 2: the command line was wrong: an unknown flag, a missing or out-of-range value;
/// - others are a command's own (documented in its --help): 3 the server's self-test
///   counts, 130 `irn train` interrupted.
///
/// ArgumentParser's own `main()` exits 64 on usage errors and prints the root command's usage
/// after an error thrown in `run()`, which named the wrong command; hence this wrapper.
public enum CommandMain {
    public static func run<Root: ParsableCommand>(_ root: Root.Type, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        let name = Root.configuration.commandName ?? "irn"
        let args = joiningNegativeValues(arguments)
        do {
            var command = try Root.parseAsRoot(args)
            try command.run()
            exit(0)
        } catch let e as IRNError {
            printError("\(name): error: \(e)")
            exit(1)
        } catch {
            let code = Root.exitCode(for: error)
            if code == .success {
                // --help and friends: ArgumentParser prints them to stdout.
                Root.exit(withError: error)
            }
            if let e = error as? ExitCode {
                // The command has already said why.
                exit(e.rawValue)
            }
            let message = oneLine(Root.message(for: error))
            if code == .validationFailure {
                printError("\(name): error: \(message) (see `\(helpCommand(Root.self, args))`)")
                exit(2)
            }
            printError("\(name): error: \(message)")
            exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }

    /// `--epochs -1` made ArgumentParser read `-1` as a flag and say "Missing value for
    /// '--epochs'"; `--epochs=-1` reaches the command's range check. No flag of ours is a
    /// dash followed by a digit, so a long option followed by such a word takes it as value.
    static func joiningNegativeValues(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { out += args[i...]; break }
            if a.hasPrefix("--"), !a.contains("="), i + 1 < args.count, isNegativeNumber(args[i + 1]) {
                out.append("\(a)=\(args[i + 1])")
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        guard s.count >= 2, s.first == "-" else { return false }
        let rest = s.dropFirst()
        return rest.first.map { $0.isNumber || $0 == "." } == true && Double(rest) != nil
    }

    /// `irn data prepare --help` for the subcommand the arguments name.
    static func helpCommand(_ root: any ParsableCommand.Type, _ args: [String]) -> String {
        var words = [root.configuration.commandName ?? "irn"]
        var current = root
        for a in args {
            guard let sub = current.configuration.subcommands.first(where: { $0.configuration.commandName == a }) else { break }
            words.append(a)
            current = sub
        }
        return (words + ["--help"]).joined(separator: " ")
    }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }
}
