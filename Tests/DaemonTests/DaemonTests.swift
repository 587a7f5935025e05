import ControlClient
import ControlProtocol
import Foundation
import SlideIO
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real unetd and unetctl processes, a real inbox, real inotify, a real Unix socket.
@Suite(.serialized) struct DaemonTests {
    @Test func droppedSlidesFlowAndBadOnesAreSetAside() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        try daemon.drop("slides/histo_he.tif", as: "first.tif")
        try daemon.drop("tiff_bad/seek_too_large.tif", as: "broken.tif")
        try daemon.drop("slides/tia_crop_64x48.tif", as: "second.tiff")
        try waitUntil(timeout: 60, "three slides finished") { daemon.metrics().count == 3 }
        #expect(daemon.files("archive") == ["first.tif", "second.tiff"])
        #expect(daemon.files("failed") == ["broken.error.json", "broken.tif"])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: daemon.root + "/failed/broken.error.json"))) as! [String: Any]
        #expect((report["reason"] as? String)?.contains("not a readable TIFF") == true)
        #expect(daemon.files("outbox") == DaemonHarness.defaultOutputs("first", "second"))
        #expect(daemon.files("inbox").isEmpty)
        let status = try daemon.status()
        #expect(status.counts.done == 2 && status.counts.failed == 1 && status.state == .running)
        let done = daemon.metrics().filter { $0["outcome"] as? String == "done" }
        #expect(done.allSatisfy { $0["model_sha256"] as? String == status.model.sha256 && $0["width"] != nil && $0["stages"] != nil })
        let stop = try daemon.stop()
        #expect(stop.status == 0)
    }

    @Test func copyMoveAndSlowWriterEachGiveExactlyOneJob() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        // mv: written elsewhere on the same file system, renamed in.
        let staging = daemon.root + "/staging.tif"
        try FileManager.default.copyItem(atPath: DaemonHarness.fixture("slides/histo_he.tif"), toPath: staging)
        #expect(rename(staging, daemon.inbox + "/moved.tif") == 0)
        // A slow writer: the file grows for over a second; it must not be taken half-written.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: DaemonHarness.fixture("slides/histo_he.tif")))
        FileManager.default.createFile(atPath: daemon.inbox + "/slow.tif", contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: daemon.inbox + "/slow.tif"))
        let chunk = bytes.count / 12 + 1
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try handle.write(contentsOf: bytes[start..<min(bytes.count, start + chunk)])
            usleep(120_000)
        }
        try handle.close()
        try daemon.drop("slides/histo_he.tif", as: "copied.tif")
        try waitUntil(timeout: 60, "three slides finished") { daemon.metrics().count >= 3 }
        try daemon.waitUntilIdle()  // a spurious extra job would be queued or running until then
        let slides = daemon.metrics().map { $0["slide"] as? String ?? "" }.sorted()
        #expect(slides == ["copied.tif", "moved.tif", "slow.tif"])
        #expect(daemon.metrics().allSatisfy { $0["outcome"] as? String == "done" })
        #expect(daemon.files("failed").isEmpty)
    }

    @Test func reloadSwapsGoodModelsAndRefusesBadOnes() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let before = try daemon.status().model.sha256
        let good = try unetctl(["--socket", daemon.socket, "reload", DaemonHarness.fixture("engine/bare_transposed_c2.pth")])
        #expect(good.status == 0)
        let after = try daemon.status().model.sha256
        #expect(after != before)
        for bad in ["engine/bad/truncated.pth", "engine/bad/wrong_layout.pth", "engine/bad/nan_weight.pth"] {
            let refused = try unetctl(["--socket", daemon.socket, "reload", DaemonHarness.fixture(bad)])
            #expect(refused.status != 0, "\(bad)")
            #expect(refused.stderr.hasPrefix("error: reload refused"), "\(refused.stderr)")
            let status = try daemon.status()
            #expect(status.model.sha256 == after)
            #expect(status.lastReload?.ok == false)
        }
        // The model still serves: a slide goes through on it.
        try daemon.drop("slides/tia_crop_64x48.tif", as: "after-reload.tif")
        try waitUntil(timeout: 60, "slide finished") { daemon.metrics().count == 1 }
        #expect(daemon.metrics()[0]["model_sha256"] as? String == after)
    }

    /// Two workers: two slides at once on one model, both listed by status; a reload meanwhile lets
    /// each finish on the model it started with, and the next slide gets the new one.
    @Test func twoWorkersSegmentTwoSlidesAtOnceAndReloadWaitsForEach() throws {
        let daemon = try DaemonHarness(extra: ["--workers", "2", "--threads", "1"])
        defer { daemon.remove() }
        try daemon.start()
        let before = try daemon.status()
        #expect(before.workers == 2)
        try daemon.drop("slides/tia_he.tif", as: "first.tif")
        try daemon.drop("slides/histo_he.tif", as: "second.tif")
        try waitUntil(timeout: 60, "both slides are in progress") { try daemon.status().slides.count == 2 }
        #expect(Set(try daemon.status().slides.map(\.name)).isSubset(of: ["first.tif", "second.tif"]))
        let reload = try unetctl(["--socket", daemon.socket, "reload", DaemonHarness.fixture("engine/bare_transposed_c2.pth")])
        #expect(reload.status == 0)
        let after = try daemon.status().model.sha256
        try waitUntil(timeout: 120, "both slides finished") { daemon.metrics().count == 2 }
        #expect(daemon.metrics().allSatisfy { $0["model_sha256"] as? String == before.model.sha256 && $0["outcome"] as? String == "done" })
        try daemon.drop("slides/tia_crop_64x48.tif", as: "third.tif")
        try waitUntil(timeout: 60, "the third slide finished") { daemon.metrics().count == 3 }
        #expect(daemon.metrics().last?["model_sha256"] as? String == after)
        #expect(try daemon.status().slides.isEmpty)
    }

    @Test func killedMidSlideFinishesOnceAfterRestart() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        try daemon.drop("slides/tia_he.tif", as: "long.tif")
        try waitUntil(timeout: 60, "the slide is in progress") { try daemon.status().current != nil }
        daemon.killHard()
        #expect(daemon.files("archive").isEmpty)
        try daemon.start()
        try waitUntil(timeout: 120, "the slide finished after restart") { !daemon.metrics().isEmpty }
        let lines = daemon.metrics()
        #expect(lines.count == 1 && lines[0]["outcome"] as? String == "done" && lines[0]["attempts"] as? Int == 2)
        #expect(daemon.files("archive") == ["long.tif"])
        #expect(daemon.files("outbox") == DaemonHarness.defaultOutputs("long"))
        #expect(daemon.files("state/spool").isEmpty)
        #expect(daemon.temporaries().isEmpty)
    }

    @Test func sigtermWhileBusyExitsCleanlyAndTheSlideWaits() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        try daemon.drop("slides/tia_he.tif", as: "busy.tif")
        try waitUntil(timeout: 60, "the slide is in progress") { try daemon.status().current != nil }
        let stop = try daemon.stop(timeout: 20)
        #expect(stop.status == 0)
        #expect(stop.seconds < 20)
        // Only the output name stays reserved (`.busy.reserved`) for the queued slide.
        let logs = try daemon.logText()
        #expect(daemon.files("outbox") == [".busy.reserved"], "\(logs)")
        try daemon.start()
        try waitUntil(timeout: 120, "the slide finished after restart") { !daemon.metrics().isEmpty }
        #expect(daemon.metrics().count == 1)
    }

    @Test func twoDaemonsShareOneInboxAndEachSlideGoesToOne() throws {
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("unetd-shared-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: shared) }
        let sharedDirectories = ["--inbox", shared + "/inbox", "--outbox", shared + "/outbox"]
        let first = try DaemonHarness(extra: sharedDirectories), second = try DaemonHarness(extra: sharedDirectories)
        defer { first.remove(); second.remove() }
        try first.start()
        try second.start()
        let count = 24
        for i in 0..<count {
            try FileManager.default.copyItem(atPath: DaemonHarness.fixture("slides/tia_crop_64x48.tif"), toPath: shared + "/inbox/s\(i).tif")
        }
        try waitUntil(timeout: 120, "all slides finished") { first.metrics().count + second.metrics().count >= count }
        try first.waitUntilIdle()
        try second.waitUntilIdle()
        let names = (first.metrics() + second.metrics()).map { $0["slide"] as? String ?? "" }
        #expect(names.count == count)
        #expect(Set(names).count == count)
        #expect(first.files("archive").count + second.files("archive").count == count)
    }

    @Test func aThousandFilesAreEachProcessedOnce() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let staging = daemon.root + "/staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let count = 1000
        for i in 0..<count {
            try FileManager.default.copyItem(atPath: DaemonHarness.fixture("slides/tia_crop_64x48.tif"), toPath: staging + "/f\(i).tif")
        }
        for i in 0..<count { rename(staging + "/f\(i).tif", daemon.inbox + "/f\(i).tif") }  // all at once
        try waitUntil(timeout: 900, "all files finished") { daemon.metrics().count >= count }
        let names = daemon.metrics().map { $0["slide"] as? String ?? "" }
        #expect(names.count == count && Set(names).count == count)
        #expect(daemon.files("inbox").isEmpty)
        // Same content, same model: after the first, the rest reuse its result, each with outputs of its own.
        #expect(daemon.metrics().filter { $0["duplicate_of"] != nil }.count == count - 1)
        #expect(daemon.files("outbox").filter { $0.hasSuffix(".result.json") }.count == count)
    }

    @Test func aChangedModelFileIsReloaded() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("unetd-watch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let modelPath = root + "/current.pth"
        try FileManager.default.copyItem(atPath: DaemonHarness.fixture("engine/ref_bilinear_c1_bias.pth"), toPath: modelPath)
        let daemon = try DaemonHarness(root: root, extra: ["--model", modelPath])
        defer { daemon.remove() }
        try daemon.start()
        let before = try daemon.status().model.sha256
        // Replace the file the way a deployment would: write beside it, rename over it.
        try FileManager.default.copyItem(atPath: DaemonHarness.fixture("engine/bare_transposed_c2.pth"), toPath: root + "/next.pth")
        #expect(rename(root + "/next.pth", modelPath) == 0)
        try waitUntil(timeout: 30, "the new model is serving") { try daemon.status().model.sha256 != before }
    }

    @Test func aClientThatNeverReadsCannotStallTheDaemon() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        // Ten connections that send half a request and then nothing, and one that asks for metrics
        // but never reads the answer.
        var idle: [Int32] = []
        for index in 0..<11 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(daemon.socket.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes); $0[bytes.count] = 0 }
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            let text = index < 10 ? "GET /v1/status HTTP/1.1\r\nHost:" : "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            idle.append(fd)
        }
        defer { idle.forEach { close($0) } }
        let started = Date()
        #expect(try daemon.status().state == .running)
        #expect(Date().timeIntervalSince(started) < 2)
        try daemon.drop("slides/tia_crop_64x48.tif", as: "meanwhile.tif")
        try waitUntil(timeout: 60, "a slide still goes through") { daemon.metrics().count == 1 }
    }

    @Test func malformedRequestsGetA4xx() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let badBody = try daemon.client.request("POST", ControlPath.reload, body: Data("{not json".utf8))
        #expect(badBody.status == 400)
        #expect(String(decoding: badBody.body, as: UTF8.self).contains("error"))
        #expect(try daemon.client.request("GET", "/v1/nothing-here").status == 404)
    }

    /// While a slide runs, status shows its tiles, MP/s and ETA; `--watch` prints a frame a second
    /// until interrupted.
    @Test func statusShowsProgressAndWatchRefreshes() throws {
        let root = try Fixtures.temporaryDirectory().path
        try "tile = 128\noverlap = 16\n".write(toFile: root + "/unetd.toml", atomically: true, encoding: .utf8)
        let daemon = try DaemonHarness(root: root, extra: ["--config", root + "/unetd.toml", "--threads", "1"])
        defer { daemon.remove() }
        try daemon.start()
        let watcher = Process(), watched = Pipe()
        watcher.executableURL = URL(fileURLWithPath: DaemonHarness.executable("unetctl"))
        watcher.arguments = ["--socket", daemon.socket, "status", "--watch"]
        watcher.standardOutput = watched
        try watcher.run()
        try daemon.drop("slides/tia_he.tif", as: "progress.tif")
        var seen: CurrentSlide?
        try waitUntil(timeout: 60, "a slide with measured progress") {
            seen = try daemon.status().slides.first { $0.megapixelsPerSecond != nil }
            return seen != nil
        }
        let slide = try #require(seen)
        #expect(slide.tilesTotal > 10 && slide.tilesDone >= 1 && slide.megapixels == 1.0)
        #expect((slide.megapixelsPerSecond ?? 0) > 0 && (slide.secondsRemaining ?? -1) >= 0)
        #expect(slide.progressDescription.contains("/\(slide.tilesTotal) tiles") && slide.progressDescription.contains("MP/s, ETA "))
        // Frames come once a second: read them as they come until there are three.
        var frames = ""
        try waitUntil(timeout: 30, "three frames of --watch") {
            frames += String(decoding: watched.fileHandleForReading.availableData, as: UTF8.self)
            return frames.components(separatedBy: "unetd status at ").count - 1 >= 3
        }
        kill(watcher.processIdentifier, SIGINT)
        frames += String(decoding: watched.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        watcher.waitUntilExit()
        #expect(frames.components(separatedBy: "unetd status at ").count - 1 >= 3, "\(frames)")
        #expect(frames.contains("working on  progress.tif: "), "\(frames)")
    }

    @Test func unetctlSaysWhenTheDaemonIsNotRunning() throws {
        let result = try unetctl(["--socket", "/nonexistent/unetd.sock", "status"])
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: unetd is not running"))
    }

    @Test func badConfigurationIsRefusedNamingTheKey() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("unetd-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (text, key) in [("threads = \"many\"\n", "threads"), ("colour = 3\n", "colour"), ("socket_mode = 660\n", "socket_mode"),
                            ("outputs = [\"mask\", \"svg\"]\n", "outputs"), ("mpp = \"sometimes\"\n", "mpp"), ("slide_mpp = -1\n", "slide_mpp"),
                            ("geojson_object_type = \"cell\"\n", "geojson_object_type"), ("precision = \"fp16\"\n", "precision")] {
            try text.write(toFile: root + "/unetd.toml", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: DaemonHarness.executable("unetd"))
            process.arguments = ["--root", root, "--config", root + "/unetd.toml"]
            let err = Pipe()
            process.standardError = err
            try process.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus != 0)
            #expect(message.contains("'\(key)'"), "\(message)")
        }
    }

    @Test func configuredOutputsAndScaleReachEverySlide() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("unetd-outputs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "outputs = [\"mask\", \"geojson\", \"pyramid\"]\nslide_mpp = 0.5\nmin_object_area = \"2um2\"\nsplit_touching = true\nprecision = \"bf16\"\n"
            .write(toFile: root + "/unetd.toml", atomically: true, encoding: .utf8)
        let daemon = try DaemonHarness(root: root, extra: ["--config", root + "/unetd.toml"])
        defer { daemon.remove() }
        try daemon.start()
        try daemon.drop("slides/tia_crop_64x48.tif", as: "field.tif")
        try waitUntil(timeout: 60, "the slide finished") { daemon.metrics().count == 1 }
        #expect(daemon.files("outbox") == (["field.geojson", "field.mask.png", "field.mask.tif", "field.result.json", "field.summary.csv"]
                + DaemonHarness.sharedOutputs).sorted())
        let line = daemon.metrics()[0]
        #expect(line["slide_mpp"] as? Double == 0.5 && line["mpp_source"] as? String == "flag" && line["objects"] is Int)
        #expect((line["warnings"] as? [String])?.count == 1, "the test model declares no MPP")
        #expect(line["precision"] as? String == "bf16")
        let filter = try #require(line["object_filter"] as? [String: Any])
        #expect(filter["min_area"] as? String == "2 µm²" && (filter["min_area_px"] as? NSNumber)?.doubleValue == 8 && filter["method"] as? String == "distance-transform")
        #expect(["generic", "avx2", "avx512", "avx512bf16"].contains(line["cpu_path"] as? String ?? ""))
    }

    /// An instance map dropped beside a slide travels with it and scores its objects in the metrics log.
    @Test func instanceTruthBesideASlideScoresObjects() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("unetd-instances-\(UUID().uuidString)").path
        let daemon = try DaemonHarness(root: root)
        defer { daemon.remove() }
        try daemon.start()
        // Two 10 × 8 nuclei on the 64 × 48 crop.
        let writer = try PNGRowWriter(path: daemon.inbox + "/field.inst.png", width: 64, height: 48, channels: 1, content: .labels)
        for y in 0..<48 {
            let row = (0..<64).map { x -> UInt8 in (10..<18).contains(y) ? ((5..<15).contains(x) ? 1 : (30..<40).contains(x) ? 2 : 0) : 0 }
            try row.withUnsafeBufferPointer { try writer.write(row: $0) }
        }
        try writer.finish()
        try writer.publish()
        try daemon.drop("slides/tia_crop_64x48.tif", as: "field.tif")
        try waitUntil(timeout: 60, "the slide finished") { daemon.metrics().count == 1 }
        let line = daemon.metrics()[0]
        #expect(["object_f1", "aji", "pq"].allSatisfy { line[$0] is NSNumber }, "\(line)")
        #expect(daemon.files("archive").contains("field.inst.png"))
        // The slide's summary rides in its metrics line, and the nuclei are counted for status and Prometheus.
        let nuclei = try #require(line["objects"] as? Int)
        let summary = try #require(line["summary"] as? [String: Any])
        #expect(summary["nuclei"] as? Int == nuclei && summary["circularity"] is [String: Any])
        #expect((line["stain_vectors"] as? [String: Any])?["source"] is String)
        #expect(try daemon.status().counts.nuclei == nuclei)
        let status = try unetctl(["--socket", daemon.socket, "status"])
        #expect(status.stdout.contains("nuclei      \(nuclei) found"), "\(status.stdout)")
        let scrape = String(decoding: try daemon.client.request("GET", ControlPath.metrics).body, as: UTF8.self)
        #expect(scrape.contains("unetd_nuclei_total{node=") && scrape.contains("} \(nuclei)"), "\(scrape)")
    }
}
