import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on `STATE/unetd.lock`, held for the daemon's lifetime, so that a second
/// unetd on the same state directory refuses at once, whatever its socket path says. The kernel drops
/// the lock when the process ends, however it ends, so a crash never leaves it behind. The file holds
/// the holder's pid, for the refusal's message.
final class StateLock: Sendable {
    let path: String
    private let descriptor: Int32

    init(stateDirectory: String) throws(DaemonError) {
        path = stateDirectory + "/unetd.lock"
        guard mkdir(stateDirectory, 0o755) == 0 || errno == EEXIST else { throw .system("create state directory", path: stateDirectory) }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("open lock", path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            guard code == EWOULDBLOCK else { throw DaemonError("lock", path: path, errorNumber: code) }
            throw DaemonError("lock state directory", path: path,
                              detail: "another unetd\(holder.map { " (pid \($0))" } ?? "") is running on this state directory; stop it, or give this one another --root")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
