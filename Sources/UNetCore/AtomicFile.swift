#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a crash leaves either the old file or the complete new one, never a torn one:
/// a temporary name in the same directory, fsync, rename, then fsync of the directory.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let operation: String
        public let errorNumber: Int32
        public var description: String { "\(path): \(operation) failed: \(String(cString: strerror(errorNumber)))" }
    }

    /// Replaces (or creates) `path` with `bytes`.
    public static func write(_ bytes: [UInt8], to path: String, permissions: mode_t = 0o644) throws(WriteError) {
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw WriteError(path: temporary, operation: "open", errorNumber: errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let code = errno
                close(fd); unlink(temporary)
                throw WriteError(path: temporary, operation: "write", errorNumber: code)
            }
            written += result
        }
        try commit(fd: fd, temporary: temporary, to: path)
    }

    /// A unique temporary name beside `path`, hidden (dot-prefixed) and marked `.tmp`.
    public static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    }

    /// fsyncs and closes `fd`, renames `temporary` onto `path` and fsyncs the directory.
    public static func commit(fd: Int32, temporary: String, to path: String) throws(WriteError) {
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd); unlink(temporary)
            throw WriteError(path: temporary, operation: "fsync", errorNumber: code)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw WriteError(path: path, operation: "rename", errorNumber: code)
        }
        syncDirectory(containing: path)
    }

    /// fsync of the directory holding `path`, so that a rename into it survives a power cut.
    public static func syncDirectory(containing path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        syncDirectory(directory.isEmpty ? "/" : directory)
    }

    /// fsync of `directory` itself (after renames into or out of it).
    public static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
