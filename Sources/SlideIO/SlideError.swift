/// Why a slide (or an image beside it) could not be read or an output not written: one line, naming
/// the file and the problem.
public struct SlideError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    /// The errno of the system call that failed, when one did (writing outputs: ENOSPC, EDQUOT, EIO...).
    public let errorNumber: Int32?
    /// Whether the run stopped because its caller asked it to (a shutdown), not for anything about
    /// the slide: a type, not a wording, so that no message can turn a shutdown into a failed slide.
    public let isCancellation: Bool

    public init(path: String, reason: String, errorNumber: Int32? = nil) {
        self.init(path: path, reason: reason, errorNumber: errorNumber, isCancellation: false)
    }

    private init(path: String, reason: String, errorNumber: Int32?, isCancellation: Bool) {
        self.path = path
        self.reason = reason
        self.errorNumber = errorNumber
        self.isCancellation = isCancellation
    }

    /// The run on `path` stopped because its caller asked it to.
    public static func cancelled(path: String) -> SlideError {
        SlideError(path: path, reason: "cancelled: the run was asked to stop", errorNumber: nil, isCancellation: true)
    }

    public var description: String { "\(path): \(reason)" }
}
