/// Why a slide (or an image beside it) could not be read or an output not written: one line, naming
/// the file and the problem.
public struct SlideError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    /// The errno of the system call that failed, when one did (writing outputs: ENOSPC, EDQUOT, EIO...).
    public let errorNumber: Int32?

    public init(path: String, reason: String, errorNumber: Int32? = nil) {
        self.path = path
        self.reason = reason
        self.errorNumber = errorNumber
    }

    public var description: String { "\(path): \(reason)" }

    /// The reason a run stopped because its caller asked it to (not the slide's fault).
    public static let cancelledReason = "cancelled: the daemon is stopping"
    public var isCancellation: Bool { reason == Self.cancelledReason }
}
