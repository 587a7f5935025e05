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
        let code = bytes.withUnsafeBytes { writeAll($0, to: fd) }
        guard code == 0 else {
            close(fd); unlink(temporary)
            throw WriteError(path: temporary, operation: "write", errorNumber: code)
        }
        try commit(fd: fd, temporary: temporary, to: path)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR. Returns 0, or the errno that stopped it.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Int32 {
        var written = 0
        while written < bytes.count {
            let result = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { return result == 0 ? EIO : errno }
            written += result
        }
        return 0
    }

    /// A unique temporary name beside `path`, hidden (dot-prefixed) and marked `.tmp`:
    /// `.NAME.NODE.PID.RANDOM.tmp`, with NAME shortened when the whole would exceed the name limit.
    /// NODE (`NodeIdentity`) tells hosts sharing a directory whose temporaries are whose.
    public static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let node = NodeIdentity.current
        // "." + NAME + "." + NODE + "." + pid (≤ 10) + "." + random (≤ 10) + ".tmp"
        let fitted = FileNameBudget.bounded(name, limit: FileNameBudget.maximumBytes - 28 - node.utf8.count)
        return "\(directory).\(fitted).\(node).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    }

    /// Whose temporary a file name is: the node and pid of `.NAME.NODE.PID.RANDOM.tmp`; nil for any
    /// other name.
    public static func temporaryOwner(ofFileNamed name: String) -> (node: String, pid: Int32)? {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return nil }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        // "", NAME..., NODE, PID, RANDOM, "tmp"
        guard parts.count >= 6, let pid = Int32(parts[parts.count - 3]), pid > 0, UInt32(parts[parts.count - 2]) != nil else { return nil }
        return (String(parts[parts.count - 4]), pid)
    }

    /// fsyncs and closes `fd`, renames `temporary` onto `path` and fsyncs the directory.
    public static func commit(fd: Int32, temporary: String, to path: String) throws(WriteError) {
        guard fsync(fd) == 0 else {  // ENOSPC/EIO of delayed writes surface here
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
        let code = syncDirectory(containing: path)
        guard code == 0 else { throw WriteError(path: path, operation: "fsync of its directory", errorNumber: code) }
    }

    /// fsync of the directory holding `path`, so that a rename into it survives a power cut.
    @discardableResult
    public static func syncDirectory(containing path: String) -> Int32 {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        return syncDirectory(directory.isEmpty ? "/" : directory)
    }

    /// fsync of `directory` itself (after renames into or out of it). Returns errno, or 0 when
    /// synced; callers that must know the rename is durable check it.
    @discardableResult
    public static func syncDirectory(_ directory: String) -> Int32 {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        // EINVAL: the file system cannot sync directories (some FUSE mounts); nothing more to do.
        return fsync(fd) == 0 || errno == EINVAL ? 0 : errno
    }
}
