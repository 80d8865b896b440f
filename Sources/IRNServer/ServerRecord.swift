#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import IRNSupport

/// The server's record (`irn-server --record FILE`): one JSON object per line, appended with
/// one write(2) each, so that a `kill -9` loses nothing but the line being written and the file
/// is readable by `scripts/chaos-check` after any fault. Several server runs append to the same
/// file; every line carries the run's id (`run`) and the wall time (`t`, seconds since 1970).
///
/// Why a file of its own and not the log: the checker must rebuild, exactly, which gradients
/// reached the weights and which sessions were started in which epoch across server restarts,
/// and a log line may be dropped, reordered or reworded. Kinds (all fields besides run, t):
///
/// - `start`: a server run began: pid, `version` (weights it starts from), `epoch`,
///   `progress` (sessions started per shard in that epoch), `shard_sizes`, `resumed_file`,
///   `resumed_checksum` (nil/"" for a new run), `skipped` (checkpoint files that did not verify).
/// - `lease`: a lease was granted: `lease`, `actor` (identity key), `epoch`, `shards`, `done`
///   (their progress at the grant).
/// - `lease_end`: `lease`, `actor`, `via` (the message or event that ended it: lease_complete,
///   lease_return, bye, hello (a rejoin), timeout).
/// - `commit`: the progress of a shard moved: `epoch`, `shard`, `from`, `to` (sessions
///   `from..<to` of the shard's order were started), `lease`, `actor`, `via`, `version`.
/// - `epoch`: epoch `epoch` began (the previous one had every shard done).
/// - `applied`: a gradient reached the weights: `actor`, `sender` (the actor process's run id),
///   `seq` (its push number), `lease`, `version` (the weight version it produced), `base`
///   (the version it was computed on).
/// - `refused`: a gradient that did not reach the weights: `actor`, `sender`, `seq`, `lease`,
///   `reason` (stale, lease_not_held, unknown_actor, version_ahead, model).
/// - `timeout`: an actor missed heartbeats: `actor`, `actor_id`, `shards` returned.
/// - `join`: `actor`, `actor_id`, `rejoin`.
/// - `checkpoint`: a checkpoint was written: `version`, `file`, `checksum`, `epoch`, `progress`.
/// - `checkpoint_failed`: `version`, `reason` (the previous checkpoints are untouched).
/// - `stop`: the run ended cleanly (SIGTERM or finished): `version`, `finished`.
public final class ServerRecord: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let lock = Locked(())

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw IRNError("cannot open the record file: \(String(cString: strerror(errno)))", file: path)
        }
    }

    deinit { close(fd) }

    /// Appends one line: `{"kind":…, "run":…, "t":…, fields…}` (sorted keys).
    func write(_ kind: String, run: UInt64, _ fields: [String: Any]) {
        var object = fields
        object["kind"] = kind
        object["run"] = String(run, radix: 16)
        object["t"] = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
        guard JSONSerialization.isValidJSONObject(object),
              var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        lock.withLock { _ in
            data.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = systemWrite(fd, raw.baseAddress! + off, raw.count - off)
                    if n <= 0 { if errno == EINTR { continue }; return }
                    off += n
                }
            }
        }
    }
}

/// write(2) (inside the class, `write` names the method).
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
