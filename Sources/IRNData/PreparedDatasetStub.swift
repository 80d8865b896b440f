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

    public static func load(from dir: URL) throws -> PreparedDataset {
        throw IRNError("prepared data sets cannot be read yet: the data loader is not merged into this branch (stub)", file: dir.path)
    }
}
