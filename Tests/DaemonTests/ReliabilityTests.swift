import ControlClient
import ControlProtocol
import DaemonKit
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every dropped slide comes back as outputs: odd names, duplicates, crashes at any step.
@Suite(.serialized) struct ReliabilityTests {
    /// A copy of a small real slide made distinct by trailing bytes (TIFF readers ignore them).
    static func distinctSlide(_ index: Int, to path: String) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: DaemonHarness.fixture("slides/tia_crop_64x48.tif")))
        bytes.append(Data("distinct-\(index)".utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
    }

    @Test func aLongFileNameIsProcessedAndKeptInTheResult() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let name = String(repeating: "slide-with-a-very-long-name-", count: 9).prefix(236) + ".tif"
        #expect(name.utf8.count == 240)
        try daemon.drop("slides/tia_crop_64x48.tif", as: String(name))
        try waitUntil(timeout: 60, "the long-named slide finished") { daemon.metrics().count == 1 }
        #expect(daemon.metrics()[0]["outcome"] as? String == "done")
        #expect(daemon.files("archive") == [String(name)])
        let summaries = daemon.files("outbox").filter { $0.hasSuffix(".result.json") }
        #expect(summaries.count == 1 && daemon.files("outbox").count == DaemonHarness.defaultOutputs("x").count)
        #expect(summaries.allSatisfy { $0.utf8.count <= 255 })
        #expect(try Self.json(daemon.root + "/outbox/" + summaries[0])["slide"] as? String == String(name))
        #expect(daemon.files("inbox").isEmpty && daemon.files("state/spool").isEmpty)
    }

    @Test func aNonUTF8NameIsSetAsideWithTheReason() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: DaemonHarness.fixture("slides/tia_crop_64x48.tif")))
        let path = Array(daemon.inbox.utf8) + Array("/bad-".utf8) + [0xFF, 0xFE] + Array(".tif".utf8) + [0]
        let fd = path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o644) } }
        #expect(fd >= 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        close(fd)
        // The report's temporary file counts too while it is being written: wait for the report itself.
        try waitUntil(timeout: 30, "the file is set aside") {
            let failed = daemon.files("failed")
            return failed.count == 2 && failed.contains { $0.hasSuffix(".error.json") }
        }
        let report = daemon.files("failed").first { $0.hasSuffix(".error.json") } ?? ""
        #expect(report.hasPrefix("unreadable-name-"))
        #expect((try Self.json(daemon.root + "/failed/" + report)["reason"] as? String)?.contains("not valid UTF-8") == true)
        #expect(try daemon.status().state == .running)
    }

    @Test func everyDuplicateGetsItsOwnOutputs() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        try daemon.drop("slides/tia_crop_64x48.tif", as: "a.tif")
        try waitUntil(timeout: 60, "a finished") { daemon.metrics().count == 1 }
        try daemon.drop("slides/tia_crop_64x48.tif", as: "b.tif")
        try waitUntil(timeout: 60, "b finished") { daemon.metrics().count == 2 }
        // The earlier outputs gone: the duplicate is segmented again, and still says whose twin it is.
        for name in DaemonHarness.defaultOutputs("a") where name.hasPrefix("a.") { unlink(daemon.root + "/outbox/" + name) }
        try daemon.drop("slides/tia_crop_64x48.tif", as: "c.tif")
        try waitUntil(timeout: 60, "c finished") { daemon.metrics().count == 3 }
        #expect(daemon.files("outbox") == DaemonHarness.defaultOutputs("b", "c"))
        let b = try Self.json(daemon.root + "/outbox/b.result.json")
        #expect(b["slide"] as? String == "b.tif" && b["duplicate_of"] as? String == "a.tif")
        #expect((b["outputs"] as? [String: String])?["mask"]?.hasSuffix("/b.mask.png") == true)
        #expect(try Self.json(daemon.root + "/outbox/c.result.json")["duplicate_of"] as? String == "a.tif")
        let lines = daemon.metrics()
        #expect(lines.map { $0["duplicate_of"] as? String } == [nil, "a.tif", "a.tif"])
        #expect(lines.allSatisfy { $0["outcome"] as? String == "done" })
    }

    /// The states a crash can leave, written into the job database as they would be, then a start.
    @Test func aRestartFinishesEveryInterruptedStep() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        try daemon.drop("slides/tia_crop_64x48.tif", as: "published.tif")
        try waitUntil(timeout: 60, "first slide finished") { daemon.metrics().count == 1 }
        try daemon.stop()
        let spool = daemon.root + "/state/spool"
        let store = try JobStore(path: daemon.root + "/state/jobs.sqlite")
        // 1. Killed between the rename into the spool and the job row: an orphan.
        try Self.distinctSlide(1, to: spool + "/123-abc-orphan.tif")
        // 2. Killed after publishing and archiving, before the row said so.
        var archived = try #require(try store.jobs(in: [.archived]).first)
        _ = try store.update(archived.storedID) { $0.state = .publishing; $0.pendingMetricsLine = nil }
        archived = try #require(try store.job(archived.storedID))
        // 3. Killed inside the claim, after the rename.
        try Self.distinctSlide(3, to: spool + "/124-abc-claimed.tif")
        _ = try store.insert(Job(name: "claimed.tif", spoolPath: spool + "/124-abc-claimed.tif", claimedFrom: daemon.inbox + "/claimed.tif"))
        // 4. Killed inside the claim, before the rename: the file is still in the inbox.
        _ = try store.insert(Job(name: "later.tif", spoolPath: spool + "/125-abc-later.tif", claimedFrom: daemon.inbox + "/later.tif"))
        try daemon.start()
        try Self.distinctSlide(4, to: daemon.inbox + "/later.tif")
        try waitUntil(timeout: 60, "all finished") { daemon.metrics().count >= 4 }
        try daemon.waitUntilIdle()
        let lines = daemon.metrics()
        #expect(lines.map { $0["slide"] as? String ?? "" }.sorted() == ["claimed.tif", "later.tif", "orphan.tif", "published.tif"])
        #expect(lines.allSatisfy { $0["outcome"] as? String == "done" })
        #expect(daemon.files("archive") == ["claimed.tif", "later.tif", "orphan.tif", "published.tif"])
        #expect(daemon.files("failed").isEmpty && daemon.files("state/spool").isEmpty && daemon.files("inbox").isEmpty)
        #expect(!daemon.files("outbox").contains { $0.contains("-2.") })
        #expect(try store.jobs(in: JobState.allCases).allSatisfy { $0.state == .archived })
    }

    @Test func twentyKillsWhileFiftySlidesFlowLoseNothing() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let staging = daemon.root + "/staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let count = 50
        for i in 0..<count { try Self.distinctSlide(i, to: staging + "/s\(i).tif") }
        var dropped = 0
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            // A few slides at a time, then a kill at a random moment.
            for _ in 0..<3 where dropped < count {
                rename(staging + "/s\(dropped).tif", daemon.inbox + "/s\(dropped).tif")
                dropped += 1
            }
            usleep(UInt32.random(in: 50_000...900_000, using: &generator))
            daemon.killHard()
            try daemon.start()
        }
        while dropped < count { rename(staging + "/s\(dropped).tif", daemon.inbox + "/s\(dropped).tif"); dropped += 1 }
        try waitUntil(timeout: 240, "all slides finished") {
            try Set(daemon.metrics().compactMap { $0["slide"] as? String }).count >= count && daemon.status().queue.pending == 0
        }
        try daemon.waitUntilIdle()
        let names = daemon.metrics().compactMap { $0["slide"] as? String }
        #expect(names.count == count, "one final metrics line per slide")
        #expect(Set(names).count == count)
        #expect(daemon.metrics().allSatisfy { $0["outcome"] as? String == "done" })
        let outbox = daemon.files("outbox")
        for i in 0..<count {
            #expect(DaemonHarness.defaultOutputs("s\(i)").allSatisfy(outbox.contains), "s\(i)")
        }
        #expect(outbox == DaemonHarness.defaultOutputs((0..<count).map { "s\($0)" }), "no NAME-2 outputs")
        let table = try String(contentsOfFile: daemon.root + "/outbox/summary.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(Set(table.map { $0.prefix { $0 != "," } }) == Set((0..<count).map { "s\($0)" }) && table.count == count,
                "one summary row per slide, none lost or doubled")
        #expect(daemon.files("archive").count == count && daemon.files("failed").isEmpty)
        #expect(daemon.files("inbox").isEmpty && daemon.files("state/spool").isEmpty)
        #expect(daemon.temporaries().isEmpty)
    }

    @Test func aFailedSlideCanBeRetriedAfterItIsFixed() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        try daemon.drop("tiff_bad/seek_too_large.tif", as: "broken.tif")
        try waitUntil(timeout: 60, "the slide failed") { daemon.metrics().count == 1 }
        let failed = try daemon.client.json("GET", ControlPath.jobs + "?state=failed", as: JobsResponse.self)
        #expect(failed.jobs.map(\.name) == ["broken.tif"])
        #expect(try daemon.client.json("GET", ControlPath.jobs + "?state=archived", as: JobsResponse.self).jobs.isEmpty)
        #expect(try daemon.client.request("GET", ControlPath.jobs + "?state=nonsense").status == 400)
        // The lab replaces the file with a good copy and retries it.
        try FileManager.default.removeItem(atPath: daemon.root + "/failed/broken.tif")
        try FileManager.default.copyItem(atPath: DaemonHarness.fixture("slides/tia_crop_64x48.tif"), toPath: daemon.root + "/failed/broken.tif")
        let retried = try unetctl(["--socket", daemon.socket, "retry", "broken.tif"])
        #expect(retried.status == 0 && retried.stdout.contains("requeued broken.tif"), "\(retried.stderr)")
        try waitUntil(timeout: 60, "the slide went through") { daemon.metrics().count == 2 }
        #expect(daemon.metrics()[1]["outcome"] as? String == "done")
        #expect(daemon.files("failed").isEmpty)
        #expect(daemon.files("outbox") == DaemonHarness.defaultOutputs("broken"))
        let nothing = try unetctl(["--socket", daemon.socket, "retry", "--all-failed"])
        #expect(nothing.status != 0 && nothing.stderr.contains("no failed slide"))
        let listed = try unetctl(["--socket", daemon.socket, "jobs", "--state", "archived"])
        #expect(listed.status == 0 && listed.stdout.contains("archived") && listed.stdout.contains("broken.tif"))
    }
}
