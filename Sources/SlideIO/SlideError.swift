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
}
