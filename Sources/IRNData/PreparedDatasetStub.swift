// TEMPORARY STUB (evalbase branch): stands in for the data loader's PreparedDataset so that
// `irn baseline` and `irn eval` compile before the data branch is merged. The lead deletes
// this file at merge; the real type has the same public API.
import Foundation
import IRNSupport

public struct PreparedDataset {
    public let itemIds: [Int64]
    public var itemCount: Int
    public let train, test, trainTr, valid: SessionSet

    public init(itemIds: [Int64], itemCount: Int, train: SessionSet, test: SessionSet, trainTr: SessionSet, valid: SessionSet) {
        self.itemIds = itemIds
        self.itemCount = itemCount
        self.train = train
        self.test = test
        self.trainTr = trainTr
        self.valid = valid
    }

    /// Stub reader of a throwaway TSV layout (items.tsv; train/test/train_tr/valid.tsv with
    /// `session<TAB>item index<TAB>type 0|1<TAB>time ms`, sessions contiguous), used only to
    /// try the baselines on the real sample before the loader is merged.
    public static func load(from dir: URL) throws -> PreparedDataset {
        func read(_ name: String) throws -> String {
            let url = dir.appendingPathComponent(name)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw IRNError("cannot read \(name) (stub loader; the real data loader is not merged into this branch)", file: dir.path)
            }
            return text
        }
        let ids = try read("items.tsv").split(separator: "\n").compactMap { Int64($0) }
        func sessions(_ name: String) throws -> SessionSet {
            var out = SessionSet()
            var cur: Int64? = nil
            var items: [Int32] = [], types: [UInt8] = [], times: [Int64] = []
            for (n, line) in try read(name).split(separator: "\n").enumerated() {
                let f = line.split(separator: "\t")
                guard f.count == 4, let s = Int64(f[0]), let i = Int32(f[1]), let t = UInt8(f[2]), let ms = Int64(f[3]),
                      i >= 0, Int(i) < ids.count else { throw IRNError("bad line", file: name, line: n + 1) }
                if s != cur, let c = cur { out.append(id: c, items: items, types: types, times: times); items = []; types = []; times = [] }
                cur = s
                items.append(i); types.append(t); times.append(ms)
            }
            if let c = cur { out.append(id: c, items: items, types: types, times: times) }
            return out
        }
        return PreparedDataset(itemIds: ids, itemCount: ids.count, train: try sessions("train.tsv"), test: try sessions("test.tsv"),
                               trainTr: try sessions("train_tr.tsv"), valid: try sessions("valid.tsv"))
    }
}
