import IRNSupport

/// Readers of the two input forms: the YooChoose challenge files (clicks `SessionId,
/// Timestamp,ItemId,Category`, buys `SessionId,Timestamp,ItemId,Price,Quantity`) and the
/// preprocessed TSV form `SessionId<TAB>ItemId<TAB>Time[<TAB>Type]` with a header line.
/// Every bad line is an `IRNError` naming the file, the line and what was wrong.
public enum EventLoader {
    public enum YooChooseKind: Sendable { case clicks, buys }

    /// Appends every row of a YooChoose clicks or buys file (plain or .gz) to `events`.
    /// Returns the number of rows read.
    @discardableResult
    public static func loadYooChoose(path: String, kind: YooChooseKind, into events: inout RawEvents,
                                     progress: ((Int) -> Void)? = nil) throws -> Int {
        let reader = try LineReader(path: path)
        let type: EventType = kind == .clicks ? .click : .purchase
        let expected = kind == .clicks ? "SessionId,Timestamp,ItemId,Category" : "SessionId,Timestamp,ItemId,Price,Quantity"
        var rows = 0
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        let ends = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        defer { starts.deallocate(); ends.deallocate() }
        try reader.forEachLine { line, lineNo in
            if isBlank(line) { return }
            if lineNo == 1 && isHeader(line) { return }
            let n = FieldParsing.split(line, separator: 0x2C, into: starts, ends, capacity: 8)
            if n < 3 {
                throw IRNError("missing column: expected \(expected), got \(n) field\(n == 1 ? "" : "s") in \(FieldParsing.excerpt(line))", file: path, line: lineNo)
            }
            guard let sid = FieldParsing.parseInt64(line, starts[0], ends[0]) else {
                throw IRNError("malformed line: session id \(FieldParsing.text(line, starts[0], ends[0])) is not an integer", file: path, line: lineNo)
            }
            guard let t = FieldParsing.parseISO8601(line, starts[1], ends[1]) else {
                throw IRNError("bad timestamp \(FieldParsing.text(line, starts[1], ends[1])) (expected ISO-8601 like 2014-04-07T10:51:09.277Z)", file: path, line: lineNo)
            }
            guard let iid = FieldParsing.parseInt64(line, starts[2], ends[2]) else {
                throw IRNError("malformed line: item id \(FieldParsing.text(line, starts[2], ends[2])) is not an integer", file: path, line: lineNo)
            }
            events.append(sessionId: sid, itemId: iid, time: t, type: type)
            rows += 1
            if rows & 0xFFFFF == 0 { progress?(rows) }
        }
        if rows == 0 { throw IRNError("empty file: no events", file: path) }
        return rows
    }

    /// Appends every row of a TSV events file. The header names the columns (any order,
    /// case-insensitive): `SessionId`, `ItemId`, `Time` (or `Timestamp`), optional `Type`.
    /// Time is ISO-8601 or decimal seconds; Type is `click` or `purchase` (`buy`), empty or
    /// absent = click.
    @discardableResult
    public static func loadTSV(path: String, into events: inout RawEvents,
                               progress: ((Int) -> Void)? = nil) throws -> Int {
        let reader = try LineReader(path: path)
        var colSession = -1, colItem = -1, colTime = -1, colType = -1
        var needed = 0
        var sawHeader = false
        var rows = 0
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: 16)
        let ends = UnsafeMutablePointer<Int>.allocate(capacity: 16)
        defer { starts.deallocate(); ends.deallocate() }
        try reader.forEachLine { line, lineNo in
            if isBlank(line) { return }
            let n = FieldParsing.split(line, separator: 0x09, into: starts, ends, capacity: 16)
            if !sawHeader {
                for c in 0..<min(n, 16) {
                    let name = String(decoding: UnsafeBufferPointer(rebasing: line[starts[c]..<ends[c]]), as: UTF8.self)
                        .trimmingSpaces().lowercased()
                    switch name {
                    case "sessionid": colSession = c
                    case "itemid": colItem = c
                    case "time", "timestamp": colTime = c
                    case "type": colType = c
                    default: break
                    }
                }
                var missing: [String] = []
                if colSession < 0 { missing.append("SessionId") }
                if colItem < 0 { missing.append("ItemId") }
                if colTime < 0 { missing.append("Time") }
                if !missing.isEmpty {
                    throw IRNError("missing column \(missing.joined(separator: ", ")) in header \(FieldParsing.excerpt(line)) (expected SessionId<TAB>ItemId<TAB>Time[<TAB>Type])", file: path, line: lineNo)
                }
                needed = max(colSession, colItem, colTime) + 1
                sawHeader = true
                return
            }
            if n < needed {
                throw IRNError("missing column: expected at least \(needed) tab-separated fields, got \(n) in \(FieldParsing.excerpt(line))", file: path, line: lineNo)
            }
            guard let sid = FieldParsing.parseInt64(line, starts[colSession], ends[colSession]) else {
                throw IRNError("malformed line: session id \(FieldParsing.text(line, starts[colSession], ends[colSession])) is not an integer", file: path, line: lineNo)
            }
            guard let iid = FieldParsing.parseInt64(line, starts[colItem], ends[colItem]) else {
                throw IRNError("malformed line: item id \(FieldParsing.text(line, starts[colItem], ends[colItem])) is not an integer", file: path, line: lineNo)
            }
            guard let t = FieldParsing.parseTime(line, starts[colTime], ends[colTime]) else {
                throw IRNError("bad timestamp \(FieldParsing.text(line, starts[colTime], ends[colTime])) (expected seconds or ISO-8601)", file: path, line: lineNo)
            }
            var type = EventType.click
            if colType >= 0 && colType < n {
                guard let ty = parseType(line, starts[colType], ends[colType]) else {
                    throw IRNError("malformed line: type \(FieldParsing.text(line, starts[colType], ends[colType])) is not click or purchase", file: path, line: lineNo)
                }
                type = ty
            }
            events.append(sessionId: sid, itemId: iid, time: t, type: type)
            rows += 1
            if rows & 0xFFFFF == 0 { progress?(rows) }
        }
        if !sawHeader { throw IRNError("empty file: no header and no events", file: path) }
        if rows == 0 { throw IRNError("empty file: header but no events", file: path) }
        return rows
    }

    @inline(__always)
    static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in line where b != 0x20 && b != 0x09 { return false }
        return true
    }

    /// A first line starting with `SessionId` (any case) is a header, not data.
    static func isHeader(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let word = Array("sessionid".utf8)
        guard line.count >= word.count else { return false }
        for k in 0..<word.count where line[k] | 0x20 != word[k] { return false }
        return true
    }

    static func parseType(_ line: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> EventType? {
        var i = from, end = to
        while i < end && line[i] == 0x20 { i += 1 }
        while end > i && line[end - 1] == 0x20 { end -= 1 }
        if i == end { return .click }
        var word = ""
        for k in i..<end { word.unicodeScalars.append(UnicodeScalar(line[k] | 0x20)) }
        switch word {
        case "click", "view", "0": return .click
        case "purchase", "buy", "1": return .purchase
        default: return nil
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\u{FEFF}" { s = s.dropFirst() }
        while let l = s.last, l == " " { s = s.dropLast() }
        return String(s)
    }
}
