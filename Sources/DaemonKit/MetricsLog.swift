import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `logs/metrics.jsonl`: one JSON line per finished slide, appended with a single `write` on an
/// `O_APPEND` descriptor so lines from concurrent writers never interleave; never rewritten.
public struct MetricsLog: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public func append(line: String) throws(DaemonError) {
        let bytes = Array((line + "\n").utf8)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("open metrics log", path: path) }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == bytes.count else {
            // A short append leaves a torn line; cut it off so the log stays one JSON object per line.
            let code = written < 0 ? errno : ENOSPC
            var info = stat()
            if written > 0, fstat(fd, &info) == 0 { _ = ftruncate(fd, info.st_size - off_t(written)) }
            throw DaemonError("append to metrics log", path: path, errorNumber: code)
        }
        guard fsync(fd) == 0 else { throw .system("fsync metrics log", path: path) }
    }

    /// Whether this node's line for `jobID` is already in the log (after a crash between appending it
    /// and recording that it was appended). Job ids are per node, so on a log several nodes share the
    /// node must match too (lines from before node names have none and match any).
    public func contains(jobID: Int64, slide: String, node: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { line in
            guard line.contains("\"job_id\":\(jobID)"),
                  let logged = try? JSONDecoder().decode(LoggedJob.self, from: Data(line.utf8)) else { return false }
            return logged.jobID == jobID && logged.slide == slide && (logged.node ?? node) == node
        }
    }

    /// The keys of a line that say which job it is.
    private struct LoggedJob: Decodable {
        let jobID: Int64
        let slide: String
        let node: String?
        enum CodingKeys: String, CodingKey { case jobID = "job_id", slide, node }
    }
}
