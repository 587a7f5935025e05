/// Why a slide (or an image beside it) could not be read or an output not written: one line, naming
/// the file and the problem.
public struct SlideError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }

    /// The reason a run stopped because its caller asked it to (not the slide's fault).
    public static let cancelledReason = "cancelled: the daemon is stopping"
    public var isCancellation: Bool { reason == Self.cancelledReason }
}
