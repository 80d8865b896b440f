import IRNEvaluation
import IRNNumerics
import IRNSupport

/// Conversions between each baseline and its `ModelArchive`, and loading any of them.
public enum BaselinePersistence {
    /// Kinds this module can load.
    public static let kinds = ["pop", "spop", "spop-markov", "bpr", "cknn", "gru4rec"]

    public static func archive(_ model: any Recommender) throws -> ModelArchive {
        var a: ModelArchive
        switch model {
        case let m as PopularityModel:
            a = ModelArchive(kind: "pop")
            a.put("counts", m.counts)
        case let m as SessionRepeatModel:
            a = ModelArchive(kind: "spop")
            a.put("popularity", m.popularity)
        case let m as SessionMarkovModel:
            // The table is saved as the transitions it keeps; loading rebuilds the same table.
            a = ModelArchive(kind: "spop-markov", meta: ["followers": "\(m.table.followersPerItem)", "table_checksum": m.table.checksumHex])
            a.put("popularity", m.popularity)
            a.put("table_offsets", m.table.offsets)
            a.put("table_followers", m.table.followers)
            a.put("table_counts", m.table.counts)
        case let m as BPRModel:
            a = ModelArchive(kind: "bpr", meta: ["factors": "\(m.factors)"])
            a.put("q", m.q, shape: [m.itemCount, m.factors])
            a.put("bias", m.bias)
        case let m as SessionKNNModel:
            a = ModelArchive(kind: "cknn", meta: ["k": "\(m.config.k)", "sample_size": "\(m.config.sampleSize)",
                                                 "similarity": m.config.similarity.rawValue])
            a.put("session_offsets", m.sessionOffsets)
            a.put("session_items", m.sessionItems)
        case let m as GRU4RecModel:
            a = ModelArchive(kind: "gru4rec", meta: ["hidden": "\(m.hidden)"])
            for t in m.parameters.tensors {
                a.put(t.name, Array(UnsafeBufferPointer(start: t.pointer, count: t.rows * t.cols)), shape: [t.rows, t.cols])
            }
        default:
            throw IRNError("cannot save a model of type \(type(of: model))")
        }
        a.meta["item_count"] = "\(model.itemCount)"
        return a
    }

    public static func load(_ a: ModelArchive) throws -> any Recommender {
        let n = try a.int("item_count")
        switch a.kind {
        case "pop":
            return PopularityModel(counts: try a.floats("counts", count: n))
        case "spop":
            return SessionRepeatModel(popularity: try a.floats("popularity", count: n))
        case "spop-markov":
            let offsets = try a.int32s("table_offsets"), followers = try a.int32s("table_followers")
            let counts = try a.floats("table_counts", count: followers.count)
            guard offsets.count == n + 1, offsets.first == 0, Int(offsets.last ?? -1) == followers.count, followers.allSatisfy({ $0 >= 0 && Int($0) < n }) else {
                throw IRNError("spop-markov model file has an inconsistent transition table")
            }
            // Replaying each kept transition count times gives back the same kept counts.
            var sessionItems: [Int32] = [], sessionOffsets = [0]
            for i in 0..<n {
                for e in Int(offsets[i])..<Int(offsets[i + 1]) {
                    for _ in 0..<Int(counts[e]) { sessionItems.append(Int32(i)); sessionItems.append(followers[e]); sessionOffsets.append(sessionItems.count) }
                }
            }
            let table = TransitionTable(sessionOffsets: sessionOffsets, items: sessionItems, itemCount: n, followersPerItem: try a.int("followers"))
            return SessionMarkovModel(popularity: try a.floats("popularity", count: n), table: table)
        case "bpr":
            let d = try a.int("factors")
            return BPRModel(itemCount: n, factors: d, q: try a.floats("q", count: n * d), bias: try a.floats("bias", count: n))
        case "cknn":
            guard let sim = KNNSimilarity(rawValue: a.meta["similarity"] ?? "") else {
                throw IRNError("cknn model file has an unknown similarity '\(a.meta["similarity"] ?? "")'")
            }
            let offsets = try a.int32s("session_offsets"), items = try a.int32s("session_items")
            guard offsets.first == 0, Int(offsets.last ?? -1) == items.count, items.allSatisfy({ $0 >= 0 && Int($0) < n }) else {
                throw IRNError("cknn model file has inconsistent session arrays")
            }
            return SessionKNNModel(sessionOffsets: offsets, sessionItems: items, itemCount: n,
                                   config: .init(k: try a.int("k"), sampleSize: try a.int("sample_size"), similarity: sim))
        case "gru4rec":
            let p = GRUParameters(itemCount: n, hidden: try a.int("hidden"))
            for t in p.tensors {
                let v = try a.floats(t.name, count: t.rows * t.cols)
                v.withUnsafeBufferPointer { t.pointer.update(from: $0.baseAddress!, count: v.count) }
            }
            return GRU4RecModel(parameters: p)
        default:
            throw IRNError("model kind '\(a.kind)' is not a baseline (known: \(kinds.joined(separator: ", ")))")
        }
    }
}
