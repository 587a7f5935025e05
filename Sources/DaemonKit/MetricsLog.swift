import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `logs/metrics.jsonl`: one JSON line per finished slide, appended with a single `write` on an
/// `O_APPEND` descriptor so lines from concurrent writers never interleave; never rewritten.
public struct MetricsLog: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func append(_ fields: [String: Any]) throws {
        var line = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        line.append(0x0A)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SpoolError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == line.count else { throw SpoolError("short write to \(path)") }
        fsync(fd)
    }
}
