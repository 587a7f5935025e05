import Foundation
import UNetCore

/// Streams text to a temporary file beside its destination, buffered. `finish()` flushes and fsyncs;
/// `publish()` renames it into place. A writer dropped before publishing removes its temporary file,
/// as `PNGRowWriter` does.
public final class TextFileWriter {
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var published = false
    private static let flushSize = 1 << 20

    public init(path: String) throws(SlideError) {
        self.path = path
        temporaryPath = AtomicFile.temporaryPath(for: path)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw SlideError(path: path, reason: "cannot create \(temporaryPath): \(String(cString: strerror(code)))", errorNumber: code)
        }
        buffer.reserveCapacity(Self.flushSize)
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !published { unlink(temporaryPath) }
    }

    public func write(_ text: String) throws(SlideError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.flushSize { try flush() }
    }

    /// Writes what is buffered, fsyncs and closes (still under the temporary name).
    public func finish() throws(SlideError) {
        try flush()
        guard fsync(fd) == 0 else { throw failure("fsync") }
        close(fd)
        fd = -1
    }

    /// Renames the finished file into place (the caller fsyncs the directory once for all outputs).
    public func publish() throws(SlideError) {
        precondition(fd < 0, "publish() before finish()")
        guard rename(temporaryPath, path) == 0 else { throw failure("rename into place") }
        published = true
    }

    private func flush() throws(SlideError) {
        var written = 0
        while written < buffer.count {
            let result = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw failure("write") }
            written += result
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func failure(_ operation: String) -> SlideError {
        let code = errno
        return SlideError(path: path, reason: "\(operation) failed: \(String(cString: strerror(code)))", errorNumber: code)
    }
}
