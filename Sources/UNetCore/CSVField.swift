/// CSV (RFC 4180) fields: quoted only when they hold a comma, quote or line break, quotes doubled.
public enum CSVField {
    public static func escaped(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
