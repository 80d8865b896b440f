/// Byte-level field parsing for the loaders: integers, ISO-8601 timestamps and decimal
/// seconds, without Foundation (DateFormatter is far too slow for 33M lines).
public enum FieldParsing {
    /// Splits `line` at `separator` into at most `fields.count` (start, end) byte ranges;
    /// returns how many fields the line has (may exceed the capacity: extra ones are counted,
    /// not stored).
    @inline(__always)
    static func split(_ line: UnsafeBufferPointer<UInt8>, separator: UInt8,
                      into starts: UnsafeMutablePointer<Int>, _ ends: UnsafeMutablePointer<Int>, capacity: Int) -> Int {
        var n = 0
        var start = 0
        let count = line.count
        var i = 0
        while i < count {
            if line[i] == separator {
                if n < capacity { starts[n] = start; ends[n] = i }
                n += 1
                start = i + 1
            }
            i += 1
        }
        if n < capacity { starts[n] = start; ends[n] = count }
        return n + 1
    }

    /// A decimal integer with optional sign and surrounding spaces; nil if anything else.
    @inline(__always)
    public static func parseInt64(_ line: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int64? {
        var i = from, end = to
        while i < end && line[i] == 0x20 { i += 1 }
        while end > i && line[end - 1] == 0x20 { end -= 1 }
        if i == end { return nil }
        var negative = false
        if line[i] == 0x2D || line[i] == 0x2B { negative = line[i] == 0x2D; i += 1 }
        if i == end || end - i > 18 { return nil }  // 18 digits never overflow Int64
        var v: Int64 = 0
        while i < end {
            let d = Int64(line[i]) - 48
            if d < 0 || d > 9 { return nil }
            v = v * 10 + d
            i += 1
        }
        return negative ? -v : v
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
    @inline(__always)
    public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = m > 2 ? m - 3 : m + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    @inline(__always)
    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff…][Z|±HH:MM]` (a space may replace `T`) to milliseconds since
    /// the Unix epoch; nil if malformed. Fractions beyond milliseconds are truncated.
    public static func parseISO8601(_ line: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int64? {
        var i = from, end = to
        while i < end && line[i] == 0x20 { i += 1 }
        while end > i && line[end - 1] == 0x20 { end -= 1 }
        guard end - i >= 19 else { return nil }
        @inline(__always) func digits(_ at: Int, _ n: Int) -> Int? {
            var v = 0
            for k in 0..<n {
                let d = Int(line[at + k]) - 48
                if d < 0 || d > 9 { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let year = digits(i, 4), line[i + 4] == 0x2D,
              let month = digits(i + 5, 2), line[i + 7] == 0x2D,
              let day = digits(i + 8, 2), line[i + 10] == 0x54 || line[i + 10] == 0x20,
              let hour = digits(i + 11, 2), line[i + 13] == 0x3A,
              let minute = digits(i + 14, 2), line[i + 16] == 0x3A,
              let second = digits(i + 17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month),
              hour < 24, minute < 60, second < 61 else { return nil }
        var p = i + 19
        var millis = 0
        if p < end && line[p] == 0x2E {  // fraction
            p += 1
            var scale = 100
            let fracStart = p
            while p < end, line[p] >= 0x30, line[p] <= 0x39 {
                millis += (Int(line[p]) - 48) * scale
                scale /= 10
                p += 1
            }
            if p == fracStart { return nil }
        }
        var offsetMinutes = 0
        if p < end {
            if line[p] == 0x5A && p + 1 == end {  // Z
                p += 1
            } else if (line[p] == 0x2B || line[p] == 0x2D) && end - p == 6 && line[p + 3] == 0x3A,
                      let oh = digits(p + 1, 2), let om = digits(p + 4, 2) {
                offsetMinutes = (oh * 60 + om) * (line[p] == 0x2D ? -1 : 1)
                p = end
            } else {
                return nil
            }
        }
        let days = daysFromCivil(year, month, day)
        let seconds = ((days * 24 + hour) * 60 + minute) * 60 + second - offsetMinutes * 60
        return Int64(seconds) * 1000 + Int64(millis)
    }

    /// Decimal seconds since the epoch (`1396864269` or `1396864269.277`) to milliseconds.
    public static func parseSeconds(_ line: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int64? {
        var i = from, end = to
        while i < end && line[i] == 0x20 { i += 1 }
        while end > i && line[end - 1] == 0x20 { end -= 1 }
        if i == end { return nil }
        var negative = false
        if line[i] == 0x2D { negative = true; i += 1 }
        var whole: Int64 = 0
        var nDigits = 0
        while i < end, line[i] >= 0x30, line[i] <= 0x39 {
            whole = whole * 10 + Int64(line[i] - 48)
            nDigits += 1
            if nDigits > 15 { return nil }
            i += 1
        }
        var millis: Int64 = 0
        var fracDigits = 0
        if i < end && line[i] == 0x2E {
            i += 1
            var scale: Int64 = 100
            while i < end, line[i] >= 0x30, line[i] <= 0x39 {
                millis += Int64(line[i] - 48) * scale
                scale /= 10
                fracDigits += 1
                i += 1
            }
        }
        if i != end || nDigits + fracDigits == 0 { return nil }
        let v = whole * 1000 + millis
        return negative ? -v : v
    }

    /// A time field of the TSV form: ISO-8601 if it looks like a date, else decimal seconds.
    @inline(__always)
    public static func parseTime(_ line: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int64? {
        var i = from
        while i < to && line[i] == 0x20 { i += 1 }
        if to - i >= 10 && line[i + 4] == 0x2D { return parseISO8601(line, from, to) }
        return parseSeconds(line, from, to)
    }

    /// A short printable excerpt of a line for error messages.
    public static func excerpt(_ line: UnsafeBufferPointer<UInt8>, limit: Int = 80) -> String {
        let n = min(line.count, limit)
        var s = String(decoding: UnsafeBufferPointer(rebasing: line[0..<n]), as: UTF8.self)
        if line.count > limit { s += "…" }
        return "'" + s + "'"
    }

    /// Field text (for error messages only).
    static func text(_ line: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> String {
        let n = min(to - from, 60)
        return "'" + String(decoding: UnsafeBufferPointer(rebasing: line[from..<(from + n)]), as: UTF8.self) + "'"
    }
}
