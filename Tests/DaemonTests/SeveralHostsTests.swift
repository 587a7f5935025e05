@testable import DaemonKit
import Foundation
import TestSupport
import Testing
import UNetCore
#if canImport(Glibc)
import Glibc
#endif

/// Several daemons, as on several hosts, sharing one inbox, outbox, archive and failed directory,
/// each with its own node name and state, watching by polling as on a network mount.
@Suite(.serialized) struct SeveralHostsTests {
    /// Three nodes in `poll` mode; 200 slides; one node killed with -9 mid-stream and restarted.
    @Test func threeNodesShareOneInboxThroughAKill() throws {
        let shared = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: shared) }
        let nodes = try ["alpha", "beta", "gamma"].map { name -> DaemonHarness in
            let root = shared + "/node-" + name
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let config = root + "/unetd.toml"
            try """
                inbox = "\(shared)/inbox"
                outbox = "\(shared)/outbox"
                archive = "\(shared)/archive"
                failed = "\(shared)/failed"
                node_name = "\(name)"
                watch = "poll"
                poll_interval = 0.5
                threads = 1
                """.write(toFile: config, atomically: true, encoding: .utf8)
            return try DaemonHarness(root: root, extra: ["--config", config])
        }
        defer { nodes.forEach { $0.remove() } }
        for node in nodes { try node.start() }
        #expect(try nodes.map { try $0.status().node } == ["alpha", "beta", "gamma"])

        let outbox = shared + "/outbox"
        // Another node's temporary whose pid means nothing here, and one of beta's own from a dead process.
        let deadPid = Self.unusedPid()
        let foreign = ".planted.mask.png.alpha.\(deadPid).7.tmp", own = ".planted.mask.png.beta.\(deadPid).8.tmp"

        let count = 200
        var betaKilled = false
        // Once beta has done a few slides (after the 60th is dropped, so work remains), kill it and restart it.
        func killBetaOnceBusy(wait: Bool) throws {
            guard !betaKilled else { return }
            if wait { try waitUntil(timeout: 120, "beta is busy") { nodes[1].metrics().count >= 3 } }
            guard nodes[1].metrics().count >= 3 else { return }
            nodes[1].killHard()
            betaKilled = true
            for name in [foreign, own] { FileManager.default.createFile(atPath: outbox + "/" + name, contents: Data()) }
            try nodes[1].start()
            // Recovery runs after the socket answers: wait for it to remove beta's own dead temporary.
            try waitUntil(timeout: 60, "beta removed its own dead temporary") { !FileManager.default.fileExists(atPath: outbox + "/" + own) }
            #expect(FileManager.default.fileExists(atPath: outbox + "/" + foreign), "beta removed alpha's temporary")
        }
        for index in 0..<count {
            try ReliabilityTests.distinctSlide(index, to: shared + "/inbox/s\(index).tif")
            if index >= 60 { try killBetaOnceBusy(wait: false) }
        }
        try killBetaOnceBusy(wait: true)
        try waitUntil(timeout: 600, "every slide finished") { nodes.map { $0.metrics().count }.reduce(0, +) >= count }
        for node in nodes { try node.waitUntilIdle() }

        // Exactly one complete set of outputs per slide, whoever did it.
        let summaries = try FileManager.default.contentsOfDirectory(atPath: outbox).filter { $0.hasSuffix(".result.json") }
        var bySlide: [String: [[String: Any]]] = [:]
        for file in summaries {
            let summary = try ReliabilityTests.json(outbox + "/" + file)
            bySlide[summary["slide"] as? String ?? "", default: []].append(summary)
            let stem = String(file.dropLast(".result.json".count))
            let outputs = (summary["outputs"] as? [String: String] ?? [:]).values
            #expect(outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "\(stem) is missing outputs")
        }
        #expect(bySlide.count == count)
        #expect(bySlide.values.allSatisfy { $0.count == 1 }, "\(bySlide.filter { $0.value.count > 1 }.keys.sorted())")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shared + "/archive").count == count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: shared + "/inbox").isEmpty)

        // Each metrics line names the node that wrote it, and that node's result.json agrees.
        var lines = 0
        for node in nodes {
            let name = try node.status().node
            for line in node.metrics() {
                lines += 1
                #expect(line["node"] as? String == name)
                #expect(line["outcome"] as? String == "done")
                let slide = line["slide"] as? String ?? ""
                #expect(bySlide[slide]?.first?["node"] as? String == name, "\(slide)")
            }
        }
        #expect(lines == count)
        #expect(nodes.allSatisfy { $0.metrics().count > 0 }, "every node took a share")
        #expect(FileManager.default.fileExists(atPath: outbox + "/" + foreign))
    }

    /// A name reserved just before a crash is released at the next start; another node's is left alone.
    @Test func aRestartReleasesOnlyItsOwnLeftoverReservations() throws {
        let daemon = try DaemonHarness(extra: ["--node-name", "alpha"])
        defer { daemon.remove() }
        let outbox = daemon.root + "/outbox"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        try "alpha\n".write(toFile: outbox + "/.lost.reserved", atomically: true, encoding: .utf8)
        try "beta\n".write(toFile: outbox + "/.theirs.reserved", atomically: true, encoding: .utf8)
        try daemon.start()
        // Recovery runs beside the control server, so the socket can answer before it has finished.
        try waitUntil(timeout: 60, "alpha's leftover reservation released") { !daemon.files("outbox").contains(".lost.reserved") }
        #expect(daemon.files("outbox") == [".theirs.reserved"])
        // The name is free again: a slide called `lost` gets it, not `lost-2`.
        try daemon.drop("slides/tia_crop_64x48.tif", as: "lost.tif")
        try waitUntil(timeout: 60, "lost.tif finished") { daemon.metrics().count == 1 }
        #expect(daemon.metrics()[0]["outputs"] as? String == "lost")
    }

    @Test func networkMountsAreRecognisedFromMountinfo() {
        let mountinfo = """
            22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
            40 22 0:35 / /mnt/lab rw,relatime shared:20 - nfs4 filer:/export/lab rw,vers=4.2
            41 40 0:36 / /mnt/lab/local\\040copy rw - tmpfs tmpfs rw
            42 22 0:37 / /mnt/smb rw - cifs //server/share rw
            """
        #expect(NetworkMount.kind(of: "/mnt/lab/inbox", mountInfo: mountinfo) == "nfs4")
        #expect(NetworkMount.kind(of: "/mnt/lab/local copy/inbox", mountInfo: mountinfo) == nil)
        #expect(NetworkMount.kind(of: "/mnt/smb", mountInfo: mountinfo) == "cifs")
        #expect(NetworkMount.kind(of: "/mnt/labs", mountInfo: mountinfo) == nil)
        #expect(NetworkMount.kind(of: "/srv/inbox", mountInfo: mountinfo) == nil)
    }

    @Test func temporaryAndSpoolNamesCarryTheNode() throws {
        let temporary = AtomicFile.temporaryPath(for: "/out/slide.v2.mask.png")
        let name = String(temporary.split(separator: "/").last!)
        #expect(name.hasPrefix(".slide.v2.mask.png.\(NodeIdentity.current).\(getpid()).") && name.hasSuffix(".tmp"))
        let owner = try #require(AtomicFile.temporaryOwner(ofFileNamed: name))
        #expect(owner.node == NodeIdentity.current && owner.pid == getpid())
        #expect(AtomicFile.temporaryOwner(ofFileNamed: ".slide.tif") == nil)
        #expect(Spool.originalName(ofSpoolFile: "lab-host_2@123-9af-my-slide.tif") == "my-slide.tif")
        #expect(Spool.originalName(ofSpoolFile: "123-9af-older@tag.tif") == "older@tag.tif")
        #expect(Spool.originalName(ofSpoolFile: "plain.tif") == "plain.tif")
        #expect(!NodeIdentity.isValid("host.example.org") && !NodeIdentity.isValid("") && NodeIdentity.isValid("wsi-02_b"))
    }

    /// A pid no process has here (the planted temporary must not depend on it being alive).
    static func unusedPid() -> Int32 {
        var pid: Int32 = 4_000_000
        while kill(pid, 0) == 0 || errno != ESRCH { pid -= 1 }
        return pid
    }
}
