/// Every key of the server's stats JSON with its meaning: the one list that `irn stats
/// --help`, the table in cluster/README.md and a test (against a live server's JSON) use.
public enum StatsSchema {
    public static let keys: [(key: String, meaning: String)] = [
        ("run_id", "this server run's id (hex); a restart changes it"),
        ("uptime_s", "seconds since the server started"),
        ("loop_cpu_s", "CPU seconds of the serving thread (decoding, Adam, encoding)"),
        ("step", "gradient applications so far (the weight version)"),
        ("updates_per_s", "gradient applications per second over the last ~10 s"),
        ("env_steps", "environment steps of all pushes, summed over actors"),
        ("epoch", "current epoch (0-based)"),
        ("epochs", "epochs to run"),
        ("finished", "true once every epoch is done"),
        ("shards_total", "shards of the training split"),
        ("shards_done", "shards finished in the current epoch"),
        ("sessions_this_epoch", "sessions committed in the current epoch"),
        ("target_version", "target network refreshes so far"),
        ("pushes", "gradient pushes received"),
        ("applied", "gradients applied"),
        ("dropped_stale", "gradients dropped for staleness over --max-staleness"),
        ("rejected", "{reason: count} of refused messages: \(PrometheusText.rejectionReasons.joined(separator: ", "))"),
        ("rejected_total", "sum of `rejected`"),
        ("refused_curve", "CURVE handshakes refused"),
        ("refused_keys", "distinct CURVE keys refused"),
        ("bytes_in", "bytes received on the actor and stats ports"),
        ("bytes_out", "bytes sent on the actor, broadcast and stats ports"),
        ("broadcast_bytes", "bytes of weight patches and target refreshes broadcast"),
        ("broadcasts", "broadcast messages sent"),
        ("actors_timed_out", "actors dropped for missing heartbeats"),
        ("staleness", "{median, p95, max} of the last 1000 pushes' staleness (versions behind)"),
        ("recent_losses", "the last 20 pushes' loss values"),
        ("recent_means", "{stat: mean over the last 100 pushes}: loss, policy_loss, value_loss, reconstruction_loss, mean_advantage, mean_abs_advantage, purchase_share, active_steps"),
        ("sessions_started", "sessions started in accepted pushes, per epoch"),
        ("weight_bytes_per_update", "broadcast bytes per applied gradient"),
        ("events", "environment events (active slot-steps) covered by all pushes (stat `events` of each push; env steps without it)"),
        ("push_bytes", "bytes of gradient pushes received"),
        ("push_bytes_per_event", "push_bytes / events: what travels actor -> server per environment event"),
        ("broadcast_bytes_per_event_per_actor", "broadcast_bytes / events: what every actor receives per environment event of the cluster (the server sends this to each)"),
        ("checkpoints_written", "checkpoints this server run wrote"),
        ("checkpoint_failures", "checkpoint writes that failed (full disk, read-only directory, ...): training goes on, the previous checkpoints stay, the write is retried within 10 s"),
        ("checkpoint_last_error", "the reason of the last failed checkpoint write (empty: none)"),
        ("checkpoint_step", "step of the newest good checkpoint written or resumed from (-1: none)"),
        ("eval", "{metric: value} of the latest evaluation: <split>.<purchase|click|first>.<recall|mrr>@K, .events, step, seconds"),
        ("actors", "one row per actor: id, host, threads, shards, pushes, applied, stale, staleness, last_seen_s, joined_s_ago, bytes_in"),
    ]

    /// The keys of one row of `actors`.
    public static let actorKeys = ["id", "host", "threads", "shards", "pushes", "applied", "stale", "staleness",
                                   "last_seen_s", "joined_s_ago", "bytes_in"]

    /// One line per key, for `--help`.
    public static var helpText: String {
        keys.map { "\($0.key): \($0.meaning)" }.joined(separator: "\n")
    }

    /// The Markdown table of cluster/README.md.
    public static var markdownTable: String {
        (["| key | meaning |", "|---|---|"] + keys.map { "| `\($0.key)` | \($0.meaning) |" }).joined(separator: "\n")
    }
}
