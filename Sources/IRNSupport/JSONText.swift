import Foundation

/// JSON text pieces written by hand where a whole encoder would be in the way (safetensors
/// headers, HTTP bodies on the hot path, one-line reports).
public enum JSONText {
    /// `s` as a JSON string literal (quotes included).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
