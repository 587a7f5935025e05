import Crypto
import Foundation
import Segmentation
import UNetCore
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's directories and the file moves between them. A slide is claimed by an atomic rename
/// from the inbox into the spool (so of several daemons watching one inbox exactly one wins), leaves
/// the spool only after its outputs are durable, and never overwrites anything: colliding names get
/// `-2`, `-3`, ... Every move here is idempotent, so a step cut short by a crash can simply be redone.
public struct Spool: Sendable {
    public let configuration: DaemonConfiguration
    public static let slideExtensions: Set<String> = ["tif", "tiff", "svs"]
    /// Files that travel with a slide `NAME.tif`: its ground truth.
    public static let companionSuffixes = [".json", ".truth.png"]
    /// What a slide's outputs are called in the outbox: `STEM` + each of these.
    public static let outputSuffixes = OutputKind.allSuffixes
    static let errorReportSuffix = ".error.json"

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

    /// What a look at the inbox found: slides to consider, and names no program can hand on
    /// (not UTF-8) as their raw bytes.
    public struct InboxListing: Sendable {
        public var candidates: [Candidate] = []
        public var unreadableNames: [[UInt8]] = []
    }

    /// Regular slide files in the inbox. Dot-files, `*.part`, `*.tmp`, symlinks, FIFOs and directories
    /// are skipped without being opened (lstat only), so nothing here can block.
    public func listInbox() throws(DaemonError) -> InboxListing {
        guard let directory = opendir(configuration.inbox) else { throw .system("list inbox", path: configuration.inbox) }
        defer { closedir(directory) }
        var listing = InboxListing()
        while let entry = readdir(directory) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                if Self.hasSlideExtension(String(decoding: bytes, as: UTF8.self)), Self.isRegularFile(configuration.inbox, bytes) {
                    listing.unreadableNames.append(bytes)
                }
                continue
            }
            guard !name.hasPrefix("."), !name.hasSuffix(".part"), !name.hasSuffix(".tmp"), Self.hasSlideExtension(name) else { continue }
            var info = stat()
            guard lstat(configuration.inbox + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            listing.candidates.append(Candidate(name: name, size: Int64(info.st_size),
                                                modified: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9))
        }
        listing.candidates.sort { $0.name < $1.name }
        return listing
    }

    static func hasSlideExtension(_ name: String) -> Bool {
        slideExtensions.contains(URL(fileURLWithPath: name).pathExtension.lowercased())
    }

    private static func isRegularFile(_ directory: String, _ name: [UInt8]) -> Bool {
        var info = stat()
        let path = Array(directory.utf8) + [UInt8(ascii: "/")] + name + [0]
        return path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &info) } } == 0
            && (info.st_mode & S_IFMT) == S_IFREG
    }

    // MARK: Claim

    /// Where a claimed slide waits: `spool/TAG-NAME`, the name cut (with a hash) so that the spool
    /// name and its companions' names fit the file system's limit whatever the original length.
    public func spoolPath(for name: String, tag: String) -> String {
        let ext = URL(fileURLWithPath: name).pathExtension
        let stem = String(name.dropLast(ext.isEmpty ? 0 : ext.utf8.count + 1))
        let fitted = FileNameBudget.stem(tag + "-" + stem, suffixes: ["." + ext] + Self.companionSuffixes)
        return configuration.spool + "/" + fitted + "." + ext
    }

    /// Renames `source` to `spoolPath`. False when the source is gone (another daemon won, or the
    /// lab took it back); the caller's job record says the claim is under way before this runs.
    public func claim(from source: String, to spoolPath: String) throws(DaemonError) -> Bool {
        guard rename(source, spoolPath) == 0 else {
            if errno == ENOENT { return false }
            throw .system("claim", path: source)
        }
        moveCompanions(from: Self.stemPath(source), to: Self.stemPath(spoolPath))
        try sync(configuration.spool)
        try sync(URL(fileURLWithPath: source).deletingLastPathComponent().path)
        return true
    }

    /// Moves `NAME.json` / `NAME.truth.png` beside `fromStem` to `toStem` where they exist and are
    /// not there yet. Ground truth is optional, so a missing one is no error.
    func moveCompanions(from fromStem: String, to toStem: String) {
        for suffix in Self.companionSuffixes where access(fromStem + suffix, F_OK) == 0 && access(toStem + suffix, F_OK) != 0 {
            _ = rename(fromStem + suffix, toStem + suffix)
        }
    }

    // MARK: Archive and failed/

    /// A free path in `directory` for the slide `name` and its companions (and error report), e.g.
    /// `archive/NAME.tif` or `archive/NAME-2.tif`.
    public func destination(for name: String, in directory: String) -> String {
        let ext = URL(fileURLWithPath: name).pathExtension
        let stem = String(name.dropLast(ext.isEmpty ? 0 : ext.utf8.count + 1))
        let suffixes = ["." + ext] + Self.companionSuffixes + [Self.errorReportSuffix]
        return directory + "/" + uniqueStem(stem, in: directory, suffixes: suffixes) + "." + ext
    }

    /// Moves the spooled slide and its companions to `destination` (chosen by `destination(for:in:)`
    /// and recorded beforehand). Idempotent: when the slide already got there, only what is left is moved.
    public func move(spoolPath: String, to destination: String) throws(DaemonError) {
        if access(spoolPath, F_OK) == 0 {
            if access(destination, F_OK) == 0 {
                // Linked by an earlier try that died before the unlink: the spool copy is the same file.
                guard Self.sameFile(spoolPath, destination) else {
                    throw DaemonError("move", path: spoolPath, detail: "\(destination) is taken by another file")
                }
                unlink(spoolPath)
            } else {
                try linkOrRename(spoolPath, destination)
            }
        } else if access(destination, F_OK) != 0 {
            throw DaemonError("move", path: spoolPath, errorNumber: ENOENT, detail: "the slide is neither in the spool nor at \(destination)")
        }
        let spoolStem = Self.stemPath(spoolPath), destinationStem = Self.stemPath(destination)
        for suffix in Self.companionSuffixes where access(spoolStem + suffix, F_OK) == 0 {
            if access(destinationStem + suffix, F_OK) == 0 { unlink(spoolStem + suffix) } else { try linkOrRename(spoolStem + suffix, destinationStem + suffix) }
        }
        try sync(URL(fileURLWithPath: destination).deletingLastPathComponent().path)
        try sync(configuration.spool)
    }

    /// `failed/NAME.error.json` beside a set-aside slide: reason, attempts, time.
    public func writeErrorReport(beside destination: String, name: String, reason: String, attempts: Int) throws(DaemonError) {
        let report: [String: Any] = ["slide": name, "reason": reason, "attempts": attempts,
                                     "time": ISO8601DateFormatter().string(from: Date()),
                                     "retry": "fix the cause, then: unetctl retry '\(name)'"]
        let path = Self.stemPath(destination) + Self.errorReportSuffix
        do {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(Array(data), to: path)
        } catch let error as AtomicFile.WriteError {
            throw DaemonError("write error report", path: error.path, errorNumber: error.errorNumber)
        } catch {
            throw DaemonError("write error report", path: path, detail: "\(error)")
        }
    }

    /// Sets aside an inbox file whose name is not UTF-8 (nothing downstream could name its outputs):
    /// renamed to `failed/unreadable-name-HASH.tif` beside an error report. Returns the new name.
    public func setAsideUnreadableName(_ rawName: [UInt8]) throws(DaemonError) -> String {
        let lossy = String(decoding: rawName, as: UTF8.self)
        let ext = URL(fileURLWithPath: lossy).pathExtension.lowercased()
        let name = "unreadable-name-" + FileNameBudget.hexHash(lossy) + "." + (Self.slideExtensions.contains(ext) ? ext : "tif")
        let destination = destination(for: name, in: configuration.failed)
        let source = Array(configuration.inbox.utf8) + [UInt8(ascii: "/")] + rawName + [0]
        let moved = source.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { rename($0.baseAddress!, destination) } }
        guard moved == 0 else { throw .system("set aside file with a non-UTF-8 name", path: destination) }
        try writeErrorReport(beside: destination, name: lossy,
                             reason: "the file name is not valid UTF-8, so its outputs cannot be named; rename it (UTF-8) and drop it again",
                             attempts: 0)
        return URL(fileURLWithPath: destination).lastPathComponent
    }

    /// `link` then `unlink`: unlike rename, link fails instead of replacing an existing file, so a
    /// name taken in the meantime (by another daemon) is never overwritten.
    private func linkOrRename(_ source: String, _ destination: String) throws(DaemonError) {
        if link(source, destination) == 0 {
            unlink(source)
        } else if errno == EXDEV || errno == EPERM {
            guard access(destination, F_OK) != 0 else { throw DaemonError("move", path: source, detail: "\(destination) appeared meanwhile") }
            guard rename(source, destination) == 0 else { throw .system("move", path: source, detail: "to \(destination)") }
        } else {
            throw .system("move", path: source, detail: "to \(destination)")
        }
    }

    private func sync(_ directory: String) throws(DaemonError) {
        let code = AtomicFile.syncDirectory(directory)
        guard code == 0 else { throw DaemonError("fsync directory", path: directory, errorNumber: code) }
    }

    static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        return stat(a, &first) == 0 && stat(b, &second) == 0 && first.st_ino == second.st_ino && first.st_dev == second.st_dev
    }

    /// `dir/NAME.tif` → `dir/NAME`.
    static func stemPath(_ path: String) -> String { URL(fileURLWithPath: path).deletingPathExtension().path }

    // MARK: Names

    /// `stem`, or `stem-2`, `stem-3`, ... so that no `stem + suffix` exists in `directory`; cut to
    /// fit the name limit first.
    public func uniqueStem(_ stem: String, in directory: String, suffixes: [String]) -> String {
        let fitted = FileNameBudget.stem(stem, suffixes: suffixes, reserve: 8)
        var candidate = fitted, counter = 1
        while suffixes.contains(where: { access(directory + "/" + candidate + $0, F_OK) == 0 }) {
            counter += 1
            candidate = "\(fitted)-\(counter)"
        }
        return candidate
    }

    /// The name outputs get in the outbox: the slide's stem, or `stem-N` if an earlier slide of the same
    /// name already has outputs there.
    public func outputName(for name: String) -> String {
        uniqueStem(URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent, in: configuration.outbox, suffixes: Self.outputSuffixes)
    }

    /// The outputs of `stem` in the outbox that exist.
    public func existingOutputs(_ stem: String) -> [String] {
        Self.outputSuffixes.map { configuration.outbox + "/" + stem + $0 }.filter { access($0, F_OK) == 0 }
    }

    /// True when `stem`'s outputs are complete: the summary is written last, so its presence says so.
    public func outputsComplete(_ stem: String) -> Bool {
        access(configuration.outbox + "/" + stem + ".result.json", F_OK) == 0
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
    public static func sha256(of path: String) throws(DaemonError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("hash", path: path) }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .system("hash", path: path) }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
