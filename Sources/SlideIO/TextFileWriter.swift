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
    /// Bytes written so far (buffered included).
    public private(set) var bytesWritten = 0
    private static let flushSize = 1 << 20

    public init(path: String) throws(SlideError) {
        self.path = path
        temporaryPath = AtomicFile.temporaryPath(for: path)
        fd = try TemporaryOutput.create(temporaryPath, for: path)
        buffer.reserveCapacity(Self.flushSize)
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !published { unlink(temporaryPath) }
    }

    public func write(_ text: String) throws(SlideError) {
        buffer.append(contentsOf: text.utf8)
        bytesWritten += text.utf8.count
        if buffer.count >= Self.flushSize { try flush() }
    }

    /// Writes what is buffered, fsyncs and closes (still under the temporary name).
    public func finish() throws(SlideError) {
        try flush()
        guard fsync(fd) == 0 else { throw failure("fsync", errno) }
        close(fd)
        fd = -1
    }

    /// Renames the finished file into place (the caller fsyncs the directory once for all outputs).
    public func publish() throws(SlideError) {
        precondition(fd < 0, "publish() before finish()")
        try TemporaryOutput.publish(temporaryPath, to: path)
        published = true
    }

    private func flush() throws(SlideError) {
        let code = buffer.withUnsafeBytes { AtomicFile.writeAll($0, to: fd) }
        guard code == 0 else { throw failure("write", code) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func failure(_ operation: String, _ code: Int32) -> SlideError {
        SlideError(path: path, reason: "\(operation) failed: \(String(cString: strerror(code)))", errorNumber: code)
    }
}
