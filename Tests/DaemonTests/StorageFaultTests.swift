import ControlClient
import ControlProtocol
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A full disk is transient: slides wait, status says degraded, and they finish once space is back.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a small tmpfs to fill needs root (CI runs as root)"))
struct StorageFaultTests {
    /// A small tmpfs of our own (needs root, as CI is); nil where mounting is not allowed.
    static func mountTmpfs(_ path: String, megabytes: Int) -> Bool {
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let result = try? Fixtures.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
        return result?.status == 0
    }

    /// Fills the file system holding `directory` to the last byte.
    static func fill(_ directory: String) -> String {
        let path = directory + "/.filler"
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 0, count: 64 * 1024)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) > 0 {}
        while block.withUnsafeBytes({ write(fd, $0.baseAddress!, 512) }) > 0 {}
        close(fd)
        return path
    }

    @Test func aFullDiskDefersSlidesUntilSpaceIsBack() throws {
        let parent = try Fixtures.temporaryDirectory().path
        let outbox = parent + "/outbox"
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try #require(Self.mountTmpfs(outbox, megabytes: 4), "root, yet cannot mount a tmpfs at \(outbox)")
        defer { _ = try? Fixtures.run("/bin/umount", ["-l", outbox]) }
        let daemon = try DaemonHarness(extra: ["--outbox", outbox])
        defer { daemon.remove() }
        try daemon.start()
        let filler = Self.fill(outbox)
        for index in 0..<3 { try ReliabilityTests.distinctSlide(index, to: daemon.inbox + "/full\(index).tif") }
        var sawDegraded: StatusResponse?
        try waitUntil(timeout: 30, "status says degraded") {
            let status = try daemon.status()
            if status.state == .degraded { sawDegraded = status }
            return sawDegraded != nil
        }
        let degraded = try #require(sawDegraded?.degraded)
        #expect(degraded.reason.contains("No space left on device"), "\(degraded.reason)")
        #expect(degraded.freeBytes != nil)
        // Nothing failed, nothing half-written, nothing lost. A retry may hold temporaries for a moment:
        // wait for a moment between retries, when none may be left.
        #expect(daemon.files("failed").isEmpty)
        var partial: [String] = []
        try? waitUntil(timeout: 30, "no partial outputs between retries") {
            partial = ((try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? [])
                .filter { $0 != ".filler" && !$0.hasSuffix(".reserved") && $0 != ".summary.csv.lock" }
            return partial.isEmpty
        }
        #expect(partial.isEmpty, "\(partial)")
        #expect(try daemon.files("inbox").count + daemon.status().queue.pending == 3)
        #expect(daemon.metrics().isEmpty)
        let status = try unetctl(["--socket", daemon.socket, "status"])
        #expect(status.stdout.contains("degraded"), "\(status.stdout)")

        unlink(filler)
        try waitUntil(timeout: 90, "all three finished by themselves") { daemon.metrics().count == 3 }
        #expect(daemon.metrics().allSatisfy { $0["outcome"] as? String == "done" })
        #expect(try daemon.status().state == .running)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? []).filter { $0.hasSuffix(".result.json") }.count == 3)
        #expect(daemon.files("failed").isEmpty && daemon.files("inbox").isEmpty)
    }
}
