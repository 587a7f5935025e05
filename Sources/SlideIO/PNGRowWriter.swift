import CPNG
import Foundation
import UNetCore

/// Streams an 8-bit gray or RGB PNG row by row to a temporary file beside its destination.
/// `finish()` flushes and fsyncs; `publish()` renames it into place. A writer dropped before
/// publishing removes its temporary file, so a failed run leaves no partial output.
public final class PNGRowWriter {
    public let path: String
    public let width: Int
    public let height: Int
    public let channels: Int
    private let temporaryPath: String
    private var writer: OpaquePointer?
    private var rowsWritten = 0
    private var published = false

    /// What the pixels are, which decides how they compress best.
    public enum Content: Sendable {
        /// Photographs, overlays, probabilities: each byte stored as the difference from its left neighbour.
        case image
        /// Few distinct values in long runs (masks): stored as they are, so runs stay runs.
        case labels
    }

    public init(path: String, width: Int, height: Int, channels: Int, content: Content = .image) throws(SlideError) {
        precondition(channels == 1 || channels == 3)
        self.path = path
        self.width = width
        self.height = height
        self.channels = channels
        temporaryPath = AtomicFile.temporaryPath(for: path)
        let fd = try TemporaryOutput.create(temporaryPath, for: path)
        var error = [CChar](repeating: 0, count: 256)
        guard let writer = unet_png_writer_open(fd, UInt32(width), UInt32(height), Int32(channels), content == .labels ? 1 : 0, &error) else {
            unlink(temporaryPath)
            throw SlideError(path: path, reason: "cannot start PNG: \(String(cString: error))")
        }
        self.writer = writer
    }

    deinit {
        if let writer { unet_png_writer_close(writer) }
        if !published { unlink(temporaryPath) }
    }

    /// Appends the next row (`width × channels` bytes).
    public func write(row: UnsafeBufferPointer<UInt8>) throws(SlideError) {
        precondition(row.count >= width * channels && rowsWritten < height)
        guard let writer, unet_png_writer_write_row(writer, row.baseAddress!) == 1 else {
            throw failure("writing row \(rowsWritten)")
        }
        rowsWritten += 1
    }

    /// Ends the image and makes its bytes durable (still under the temporary name).
    public func finish() throws(SlideError) {
        precondition(rowsWritten == height, "PNG \(path): \(rowsWritten) of \(height) rows written")
        guard let writer, unet_png_writer_finish(writer) == 1 else { throw failure("finishing") }
        unet_png_writer_close(writer)
        self.writer = nil
    }

    /// Renames the finished file into place (the caller fsyncs the directory once for all outputs).
    public func publish() throws(SlideError) {
        precondition(writer == nil, "publish() before finish()")
        try TemporaryOutput.publish(temporaryPath, to: path)
        published = true
    }

    private func failure(_ stage: String) -> SlideError {
        let message = writer.map { String(cString: unet_png_writer_error($0)) } ?? "writer closed"
        let code = writer.map { unet_png_writer_errno($0) } ?? 0
        let cause = code == 0 ? "" : " (\(String(cString: strerror(code))))"
        return SlideError(path: path, reason: "PNG \(stage) failed: \(message)\(cause)", errorNumber: code == 0 ? nil : code)
    }
}
