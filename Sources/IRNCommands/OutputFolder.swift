import Foundation
import IRNSupport

/// Checks, before any work, that the folder an output file goes to exists: a typo in
/// `--out` should fail at once, not after an hour of training.
enum OutputFolder {
    static func check(_ path: String, flag: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw IRNError("\(flag): the folder \(folder.path) does not exist (create it first)", file: path)
        }
    }
}
