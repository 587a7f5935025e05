import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The name this process goes by on a shared inbox or outbox (`node_name`): in claim tags, temporary
/// file names (`.NAME.NODE.PID.RANDOM.tmp`), result.json, the metrics log and status. Several hosts
/// share one directory safely because each recognises its own files by this name.
public enum NodeIdentity {
    /// Letters, digits, `-` and `_`, at most this many bytes: no `.` (temporary names are split on
    /// it) and no `/`, so the name can sit inside a file name.
    public static let maximumBytes = 48

    private static let name = Mutex(defaultName())

    /// The name in use: the host name (up to its first `.`) unless `set(_:)` chose another.
    public static var current: String { name.withLock { $0 } }

    /// Sets the process-wide name after checking it (`node_name`, `--node-name`).
    public static func set(_ newName: String) throws(InvalidName) {
        guard isValid(newName) else { throw InvalidName(name: newName) }
        name.withLock { $0 = newName }
    }

    public static func isValid(_ candidate: String) -> Bool {
        !candidate.isEmpty && candidate.utf8.count <= maximumBytes
            && candidate.utf8.allSatisfy { isAllowed($0) }
    }

    public struct InvalidName: Error, CustomStringConvertible {
        public let name: String
        public init(name: String) { self.name = name }
        public var description: String {
            "node name \"\(name)\" must be 1–\(NodeIdentity.maximumBytes) letters, digits, '-' or '_' (no dots); set node_name"
        }
    }

    /// The short host name with anything outside the allowed characters replaced by `-`; `node` when
    /// the host has no name.
    static func defaultName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "node" }
        let host = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let short = host.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
        let cleaned = String(decoding: short.utf8.prefix(maximumBytes).map { isAllowed($0) ? $0 : UInt8(ascii: "-") }, as: UTF8.self)
        return cleaned.isEmpty ? "node" : cleaned
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }
}
