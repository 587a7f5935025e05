import ControlClient
import ControlProtocol
@testable import DaemonKit
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

    /// The whole root (job store, spool, outbox, logs) on a 40 MB tmpfs, three slides queued, the disk
    /// filled: every slide finishes once the filler goes, with no reservation left behind.
    @Test func everyQueuedSlideFinishesWhenAFullRootFileSystemClears() throws {
        let root = try Fixtures.temporaryDirectory().path + "/root"
        try #require(Self.mountTmpfs(root, megabytes: 40), "root, yet cannot mount a tmpfs at \(root)")
        defer {
            _ = try? Fixtures.run("/bin/umount", ["-l", root])
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: root).deletingLastPathComponent().path)
        }
        let daemon = try DaemonHarness(root: root)
        try daemon.start()
        defer { daemon.killHard() }
        _ = try unetctl(["--socket", daemon.socket, "pause"])
        for index in 0..<3 { try ReliabilityTests.distinctSlide(index, to: daemon.inbox + "/s\(index).tif") }
        try waitUntil(timeout: 30, "three slides queued") { try daemon.status().queue.pending == 3 }
        let filler = Self.fill(root)
        _ = try unetctl(["--socket", daemon.socket, "resume"])
        try waitUntil(timeout: 30, "status says degraded") { try daemon.status().state == .degraded }

        unlink(filler)
        try waitUntil(timeout: 120, "all three finished") { daemon.metrics().count == 3 }
        #expect(daemon.metrics().allSatisfy { $0["outcome"] as? String == "done" })
        let outbox = (try? FileManager.default.contentsOfDirectory(atPath: root + "/outbox")) ?? []
        #expect(outbox.filter { $0.hasSuffix(".result.json") }.sorted() == ["s0.result.json", "s1.result.json", "s2.result.json"])
        #expect(outbox.filter { $0.hasSuffix(".reserved") || $0.contains(".tmp") }.isEmpty, "\(outbox)")
        try waitUntil(timeout: 30, "degraded clears") { try daemon.status().state == .running }
    }

    /// The disk that fails a slide's outputs fails the job store too: the deferral cannot be recorded
    /// and the job is left `active`. It must still go back in the queue once storage recovers.
    @Test func aDeferralTheFullDiskKeptFromTheStoreIsStillRetried() async throws {
        let root = try Fixtures.temporaryDirectory().path + "/root"
        try #require(Self.mountTmpfs(root, megabytes: 8), "root, yet cannot mount a tmpfs at \(root)")
        defer { _ = try? Fixtures.run("/bin/umount", ["-l", root]) }
        try await ControlControllerTests.withRouter(root: root) { _, dependencies in
            let store = dependencies.store, processor = dependencies.processor
            let job = try store.insert(Job(name: "s0.tif", spoolPath: root + "/spool/s0.tif", claimedFrom: root + "/inbox/s0.tif", state: .queued))
            _ = try store.claimNext()
            let filler = Self.fill(root)
            await processor.deferJob(job.storedID, reason: "\(DeferredRetryTests.diskFull)")
            await processor.storageFault(DeferredRetryTests.diskFull, during: "process s0.tif")
            #expect(try store.job(job.storedID)?.state == .active, "the full disk let the store record the deferral: nothing under test")
            unlink(filler)
            await processor.storageRecovered()  // another worker's slide went through
            #expect(try store.job(job.storedID)?.state == .queued)
        }
    }
}
