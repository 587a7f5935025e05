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
    /// Files that travel with a slide `NAME.tif`: its ground truth (points, a mask, or an instance map).
    public static let companionSuffixes = [".json", ".truth.png", ".inst.png", "_inst.png"]
    /// What a slide's outputs are called in the outbox: `STEM` + each of these.
    public static let outputSuffixes = OutputKind.allSuffixes
    static let errorReportSuffix = ".error.json"

    public init(configuration: DaemonConfiguration) { self.configuration = configuration }

    public func prepareDirectories() throws {
        for directory in [configuration.inbox, configuration.outbox, configuration.archive, configuration.failed,
                          configuration.state, configuration.spool, configuration.logs] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        if let problem = spoolProblem() { throw DaemonError("claim slides", path: configuration.spool, detail: problem) }
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

    /// A fresh claim tag, `NODE@PID-HEX`: which node and process claimed a slide, unique per claim.
    public func claimTag() -> String {
        "\(configuration.nodeName)@\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    /// The name a slide had before it was claimed, from its spool file name `TAG-NAME` (tags
    /// `NODE@PID-HEX`, or `PID-HEX` from older versions); the whole name when it has no tag.
    public static func originalName(ofSpoolFile file: String) -> String {
        func afterPidAndHex(_ text: Substring) -> String? {
            let parts = text.split(separator: "-", maxSplits: 2)
            guard parts.count == 3, Int32(parts[0]) != nil, UInt32(parts[1], radix: 16) != nil else { return nil }
            return String(parts[2])
        }
        if let at = file.firstIndex(of: "@"), NodeIdentity.isValid(String(file[..<at])),
           let name = afterPidAndHex(file[file.index(after: at)...]) { return name }
        return afterPidAndHex(Substring(file)) ?? file
    }

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
        Self.candidateStems(stem, suffixes: suffixes).first { candidate in
            !suffixes.contains { access(directory + "/" + candidate + $0, F_OK) == 0 }
        }!
    }

    /// `stem` cut so that it and every suffix fit the name limit with `reserve` bytes to spare, then
    /// the same with `-2`, `-3`, ..., without end.
    private static func candidateStems(_ stem: String, suffixes: [String], reserve: Int = 8) -> some Sequence<String> {
        let fitted = FileNameBudget.stem(stem, suffixes: suffixes, reserve: reserve)
        return (1...).lazy.map { $0 == 1 ? fitted : "\(fitted)-\($0)" }
    }

    /// Reserves the name outputs get in the outbox: the slide's stem, or `stem-N` when that has
    /// outputs already or is reserved. The reservation (`.STEM.reserved`, created with O_EXCL, atomic
    /// on local file systems and NFSv3+) stops two workers or hosts segmenting same-named slides at
    /// once from publishing over each other; `releaseOutputName` removes it once the outputs are out.
    public func reserveOutputName(for name: String) throws(DaemonError) -> String {
        let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
        // One byte more than `uniqueStem` spares: the reservation's leading dot.
        for candidate in Self.candidateStems(stem, suffixes: Self.outputSuffixes + [Self.reservationSuffix], reserve: 9)
        where existingOutputs(candidate).isEmpty {
            let fd = open(reservationPath(candidate), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                if errno == EEXIST { continue }
                throw .system("reserve output name", path: reservationPath(candidate))
            }
            // Whose it is, so that after a crash this node can tell its own leftovers from others'.
            let owner = Array((configuration.nodeName + "\n").utf8)
            _ = owner.withUnsafeBytes { AtomicFile.writeAll($0, to: fd) }
            close(fd)
            return candidate
        }
        preconditionFailure("candidate stems never run out")
    }

    public func releaseOutputName(_ stem: String) { unlink(reservationPath(stem)) }

    /// Removes this node's reservations that no unfinished job holds (a crash between reserving a
    /// name and recording it); other nodes' are theirs to clean. Returns the stems released.
    public func removeStaleReservations(keeping held: Set<String>) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: configuration.outbox) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(".") && name.hasSuffix(Self.reservationSuffix) {
            let stem = String(name.dropFirst().dropLast(Self.reservationSuffix.utf8.count))
            guard !held.contains(stem),
                  let owner = try? String(contentsOfFile: configuration.outbox + "/" + name, encoding: .utf8),
                  owner.trimmingCharacters(in: .whitespacesAndNewlines) == configuration.nodeName else { continue }
            if unlink(configuration.outbox + "/" + name) == 0 { removed.append(stem) }
        }
        return removed
    }

    static let reservationSuffix = ".reserved"
    private func reservationPath(_ stem: String) -> String { configuration.outbox + "/." + stem + Self.reservationSuffix }

    /// The outputs of `stem` in the outbox that exist.
    public func existingOutputs(_ stem: String) -> [String] {
        Self.outputSuffixes.map { configuration.outbox + "/" + stem + $0 }.filter { access($0, F_OK) == 0 }
    }

    /// True when `stem`'s outputs are complete: the summary is written last, so its presence says so.
    public func outputsComplete(_ stem: String) -> Bool {
        access(configuration.outbox + "/" + stem + ".result.json", F_OK) == 0
    }

    /// Removes temporary files (`.NAME.NODE.PID.RANDOM.tmp`) left behind by a crash (`kill -9`, power
    /// cut). This node's own are removed when their process no longer exists; another node's pid
    /// means nothing here (it may be alive on its host), so those go only once older than
    /// `foreign_temporary_age`.
    public func removeStaleTemporaries(now: Date = Date()) -> [String] {
        var removed: [String] = []
        let node = configuration.nodeName
        for directory in [configuration.outbox, configuration.archive, configuration.failed, configuration.state, configuration.logs] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names {
                guard let owner = AtomicFile.temporaryOwner(ofFileNamed: name) else { continue }
                let path = directory + "/" + name
                let abandoned: Bool
                if owner.node == node {
                    abandoned = kill(owner.pid, 0) != 0 && errno == ESRCH
                } else {
                    var info = stat()
                    guard lstat(path, &info) == 0 else { continue }
                    abandoned = now.timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > configuration.foreignTemporaryAge
                }
                if abandoned, unlink(path) == 0 { removed.append(name) }
            }
        }
        return removed
    }

    /// Whether the spool is on the inbox's file system, as the claim's rename needs; a description
    /// of the problem otherwise.
    public func spoolProblem() -> String? {
        var inbox = stat(), spool = stat()
        guard stat(configuration.inbox, &inbox) == 0, stat(configuration.spool, &spool) == 0 else { return nil }
        guard inbox.st_dev != spool.st_dev else { return nil }
        return "the spool \(configuration.spool) is not on the inbox's file system (\(configuration.inbox)), so a slide cannot be claimed by an atomic rename; set 'spool' to a directory for this node on the inbox's share, e.g. \(URL(fileURLWithPath: configuration.inbox).deletingLastPathComponent().path)/spool/\(configuration.nodeName)"
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
