import Foundation

/// What the daemon as a whole is doing, as `GET /v1/status` reports it.
public enum DaemonState: String, Codable, Sendable {
    /// Taking slides from the inbox and processing them.
    case running
    /// Paused by `unetctl pause`: the current slide finishes, nothing new starts.
    case paused
    /// Storage is failing (disk full, quota, I/O errors): intake pauses, queued slides wait, and the
    /// daemon retries with backoff until space comes back.
    case degraded
}

/// Why the daemon is degraded, and how much room the output directory has now.
public struct DegradedReason: Codable, Sendable, Equatable {
    public var reason: String
    /// Free bytes available to unetd on the output file system (statvfs), when known.
    public var freeBytes: Int64?
    public var since: Date
    /// When the next retry is due.
    public var retryAt: Date?

    public init(reason: String, freeBytes: Int64?, since: Date, retryAt: Date?) {
        self.reason = reason
        self.freeBytes = freeBytes
        self.since = since
        self.retryAt = retryAt
    }

    enum CodingKeys: String, CodingKey { case reason, freeBytes = "free_bytes", since, retryAt = "retry_at" }
}
