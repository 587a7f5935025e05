import Foundation

/// What every output writer here does with its file: create it under a temporary name beside the
/// destination (exclusively, so two writers never share one), and rename it into place when published.
enum TemporaryOutput {
    /// Opens `temporaryPath` new for writing (`readable`: also for reading, as libtiff wants); errors name `path`.
    static func create(_ temporaryPath: String, for path: String, readable: Bool = false) throws(SlideError) -> Int32 {
        let fd = open(temporaryPath, (readable ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw SlideError(path: path, reason: "cannot create \(temporaryPath): \(String(cString: strerror(code)))", errorNumber: code)
        }
        return fd
    }

    /// Renames the finished file onto `path` (the caller fsyncs the directory once for all outputs).
    static func publish(_ temporaryPath: String, to path: String) throws(SlideError) {
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            throw SlideError(path: path, reason: "cannot rename into place: \(String(cString: strerror(code)))", errorNumber: code)
        }
    }
}
