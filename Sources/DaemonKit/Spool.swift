import Crypto
import Foundation
import UNetCore
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's directories and the moves between them. A slide is claimed by an atomic rename from
/// the inbox into the spool (so of several daemons watching one inbox exactly one wins), leaves the
/// spool only after its outputs are durable, and never overwrites anything: colliding names get `-2`, `-3`, ...
public struct Spool: Sendable {
    public let configuration: DaemonConfiguration
    public static let slideExtensions: Set<String> = ["tif", "tiff", "svs"]
    /// Files that travel with a slide `NAME.tif`: its ground truth.
    public static let companionSuffixes = [".json", ".truth.png"]

    public init(configuration: DaemonConfiguration) { self.configuration = configuration }

    public func prepareDirectories() throws {
        for directory in [configuration.inbox, configuration.outbox, configuration.archive, configuration.failed,
                          configuration.state, configuration.spool, configuration.logs] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// A regular slide file in the inbox and what it looked like when seen.
    public struct Candidate: Sendable, Equatable {
        public let name: String
        public let size: Int64
        public let modified: Double
    }

    /// Regular slide files in the inbox. Dot-files, `*.part`, `*.tmp`, symlinks, FIFOs and directories
    /// are skipped without being opened (lstat only), so nothing here can block.
    public func candidates() -> [Candidate] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: configuration.inbox) else { return [] }
        return names.sorted().compactMap { name in
            guard !name.hasPrefix("."), !name.hasSuffix(".part"), !name.hasSuffix(".tmp"),
                  Self.slideExtensions.contains(URL(fileURLWithPath: name).pathExtension.lowercased()) else { return nil }
            var info = stat()
            guard lstat(configuration.inbox + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return Candidate(name: name, size: Int64(info.st_size), modified: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9)
        }
    }

    public struct ClaimedSlide: Sendable {
        public let name: String
        public let path: String
    }

    /// Moves `inbox/NAME` (and its ground truth) into the spool. Nil when another process got there first.
    public func claim(_ name: String, jobTag: String) throws -> ClaimedSlide? {
        let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
        let spooled = configuration.spool + "/" + jobTag + "-" + name
        guard rename(configuration.inbox + "/" + name, spooled) == 0 else {
            if errno == ENOENT { return nil }
            throw SpoolError("cannot claim \(name): \(String(cString: strerror(errno)))")
        }
        for suffix in Self.companionSuffixes {
            _ = rename(configuration.inbox + "/" + stem + suffix, configuration.spool + "/" + jobTag + "-" + stem + suffix)
        }
        AtomicFile.syncDirectory(configuration.spool)
        AtomicFile.syncDirectory(configuration.inbox)
        return ClaimedSlide(name: name, path: spooled)
    }

    /// Moves a finished slide and its companions from the spool to `archive/`; returns where it went.
    @discardableResult
    public func archive(spoolPath: String, name: String) throws -> String {
        try moveOut(spoolPath: spoolPath, name: name, to: configuration.archive)
    }

    /// Sets a failed slide aside in `failed/` beside `NAME.error.json` (reason and attempts).
    @discardableResult
    public func fail(spoolPath: String, name: String, reason: String, attempts: Int) throws -> String {
        let destination = try moveOut(spoolPath: spoolPath, name: name, to: configuration.failed)
        let stem = URL(fileURLWithPath: destination).deletingPathExtension().path
        let report: [String: Any] = ["slide": name, "reason": reason, "attempts": attempts,
                                     "time": ISO8601DateFormatter().string(from: Date())]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data), to: stem + ".error.json")
        return destination
    }

    private func moveOut(spoolPath: String, name: String, to directory: String) throws -> String {
        let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
        let extensionPart = URL(fileURLWithPath: name).pathExtension
        let finalStem = uniqueStem(stem, in: directory, suffixes: ["." + extensionPart] + Self.companionSuffixes + [".error.json"])
        let destination = directory + "/" + finalStem + "." + extensionPart
        try linkOrRename(spoolPath, destination)
        let spoolStem = URL(fileURLWithPath: spoolPath).deletingPathExtension().path
        for suffix in Self.companionSuffixes where FileManager.default.fileExists(atPath: spoolStem + suffix) {
            try linkOrRename(spoolStem + suffix, directory + "/" + finalStem + suffix)
        }
        AtomicFile.syncDirectory(directory)
        AtomicFile.syncDirectory(configuration.spool)
        return destination
    }

    /// `link` then `unlink`: unlike rename, link fails instead of replacing an existing file, so a
    /// name taken in the meantime (by another daemon) is never overwritten.
    private func linkOrRename(_ source: String, _ destination: String) throws {
        if link(source, destination) == 0 {
            unlink(source)
        } else if errno == EXDEV || errno == EPERM {
            guard access(destination, F_OK) != 0 else { throw SpoolError("\(destination) appeared while moving \(source)") }
            guard rename(source, destination) == 0 else { throw SpoolError("cannot move \(source): \(String(cString: strerror(errno)))") }
        } else {
            throw SpoolError("cannot move \(source) to \(destination): \(String(cString: strerror(errno)))")
        }
    }

    /// `stem`, or `stem-2`, `stem-3`, ... so that no `stem + suffix` exists in `directory`.
    public func uniqueStem(_ stem: String, in directory: String, suffixes: [String]) -> String {
        var candidate = stem, counter = 1
        while suffixes.contains(where: { FileManager.default.fileExists(atPath: directory + "/" + candidate + $0) }) {
            counter += 1
            candidate = "\(stem)-\(counter)"
        }
        return candidate
    }

    /// The name outputs get in the outbox: the slide's stem, or `stem-N` if an earlier slide of the same
    /// name already has outputs there.
    public func outputName(for name: String) -> String {
        let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
        return uniqueStem(stem, in: configuration.outbox, suffixes: [".mask.png", ".overlay.png", ".result.json", ".prob.png"])
    }

    /// Removes temporary files (`.NAME.PID.RANDOM.tmp`) that a process which no longer exists left
    /// behind, e.g. after `kill -9`; files of live processes (another daemon) are left alone.
    public func removeStaleTemporaries() -> [String] {
        var removed: [String] = []
        for directory in [configuration.outbox, configuration.archive, configuration.failed, configuration.state, configuration.logs] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
                let parts = name.split(separator: ".")
                guard parts.count >= 4, let pid = Int32(parts[parts.count - 3]) else { continue }
                if kill(pid, 0) != 0 && errno == ESRCH {
                    unlink(directory + "/" + name)
                    removed.append(name)
                }
            }
        }
        return removed
    }

    /// sha256 of a file, streamed.
    public static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SpoolError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

public struct SpoolError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
