import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every failure the daemon meets outside the segmentation itself: the operation, the file, the
/// system's errno when there was one, and what to do about it. `isTransientStorageFault` decides
/// between deferring a slide (disk full, quota, I/O error: retried by itself) and failing it.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    /// What was being done: "claim", "archive", "write error report", "open metrics log", ...
    public let operation: String
    public let path: String?
    public let errorNumber: Int32?
    /// What went wrong beyond errno, or what to do.
    public let detail: String?

    public init(_ operation: String, path: String? = nil, errorNumber: Int32? = nil, detail: String? = nil) {
        self.operation = operation
        self.path = path
        self.errorNumber = errorNumber
        self.detail = detail
    }

    /// The failed call's errno (read at once, before anything can overwrite it).
    public static func system(_ operation: String, path: String?, detail: String? = nil) -> DaemonError {
        DaemonError(operation, path: path, errorNumber: errno, detail: detail)
    }

    public var description: String {
        var text = path.map { "\($0): " } ?? ""
        text += "\(operation) failed"
        if let errorNumber { text += ": \(String(cString: strerror(errorNumber)))" }
        if let detail { text += errorNumber == nil ? ": \(detail)" : " (\(detail))" }
        return text
    }

    /// Disk full, quota exceeded or an I/O error: the storage's fault, not the slide's.
    public var isTransientStorageFault: Bool { errorNumber.map(Self.isTransientStorageFault) ?? false }

    public static func isTransientStorageFault(_ code: Int32) -> Bool { code == ENOSPC || code == EDQUOT || code == EIO }
}
