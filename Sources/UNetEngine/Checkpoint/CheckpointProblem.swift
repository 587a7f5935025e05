/// Why a checkpoint cannot be used, in words meant for the person who supplied it.
/// `ModelFile.load` attaches the file path and turns it into a `ModelFileError`.
public struct CheckpointProblem: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A model file that could not be loaded: the path and what is wrong with it.
public struct ModelFileError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }
}
