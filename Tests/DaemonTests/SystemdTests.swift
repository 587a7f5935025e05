import ControlClient
import ControlProtocol
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify as systemd would see it (a datagram socket we own as NOTIFY_SOCKET), and the unit file.
@Suite(.serialized) struct SystemdTests {
    /// A bound datagram socket collecting notify messages.
    final class NotifyListener {
        let path: String
        let fd: Int32

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes); $0[bytes.count] = 0 }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw Timeout(description: "cannot bind \(path)") }
            var time = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd); unlink(path) }

        /// Messages received so far (non-blocking beyond a short timeout).
        func drain() -> [String] {
            var messages: [String] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { break }
                messages.append(String(decoding: buffer[0..<n], as: UTF8.self))
            }
            return messages
        }
    }

    @Test func readyReloadingAndStoppingAreNotified() throws {
        let listener = try NotifyListener()
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        daemon.environment["NOTIFY_SOCKET"] = listener.path
        try daemon.start()
        var messages: [String] = []
        try waitUntil(timeout: 30, "READY=1") { messages += listener.drain(); return messages.contains { $0.contains("READY=1") } }
        #expect(messages.first { $0.contains("READY=1") }?.contains("STATUS=") == true)
        messages = []
        #expect(try unetctl(["--socket", daemon.socket, "reload"]).status == 0)
        try waitUntil(timeout: 30, "RELOADING then READY") {
            messages += listener.drain()
            return messages.contains { $0.contains("RELOADING=1") } && messages.last { $0.contains("READY=1") } != nil
        }
        let reloading = try #require(messages.first { $0.contains("RELOADING=1") })
        #expect(reloading.contains("MONOTONIC_USEC="))
        #expect(messages.firstIndex { $0.contains("RELOADING=1") }! < messages.lastIndex { $0.contains("READY=1") }!)
        try daemon.stop()
        messages = listener.drain()
        #expect(messages.contains { $0.contains("STOPPING=1") })
    }

    /// Several 2 GB slides claimed at once are hashed off the event loop: the watchdog never misses a beat.
    @Test func theWatchdogKeepsTickingWhileLargeSlidesAreClaimed() throws {
        let listener = try NotifyListener()
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        daemon.environment["NOTIFY_SOCKET"] = listener.path
        daemon.environment["WATCHDOG_USEC"] = "4000000"
        try daemon.start()
        var pings: [Date] = []
        func collect() { for message in listener.drain() where message.contains("WATCHDOG=1") { pings.append(Date()) } }
        // Sparse 2 GB files: real reads of 2 GB each for the hash, no disk used.
        for index in 0..<3 {
            let fd = open(daemon.root + "/big\(index).tif", O_WRONLY | O_CREAT, 0o644)
            #expect(ftruncate(fd, 2 << 30) == 0)
            close(fd)
        }
        for index in 0..<3 { rename(daemon.root + "/big\(index).tif", daemon.inbox + "/big\(index).tif") }
        let started = Date()
        var slowestStatus = 0.0
        while Date().timeIntervalSince(started) < 90 {
            collect()
            let asked = Date()
            _ = try daemon.status()
            slowestStatus = max(slowestStatus, Date().timeIntervalSince(asked))
            if daemon.metrics().count == 3 { break }
            usleep(200_000)
        }
        collect()
        #expect(daemon.metrics().count == 3, "the three (unreadable) slides were hashed and set aside")
        #expect(pings.count >= 3)
        let gaps = zip(pings.dropFirst(), pings).map { $0.timeIntervalSince($1) }
        #expect((gaps.max() ?? 99) < 4, "longest gap between WATCHDOG=1: \(gaps.max() ?? 99) s")
        #expect(slowestStatus < 2, "status answered within \(slowestStatus) s")
    }

    /// unetd on a copy of the test model at ROOT/model.pth (which a test may replace), notifying a
    /// listener of ours; returned once READY=1 has come.
    static func startWithItsOwnModelFile() throws -> (DaemonHarness, NotifyListener) {
        let listener = try NotifyListener()
        let root = try Fixtures.temporaryDirectory().path
        try FileManager.default.copyItem(atPath: DaemonHarness.model, toPath: root + "/model.pth")
        let daemon = try DaemonHarness(root: root, extra: ["--model", root + "/model.pth"])
        daemon.environment["NOTIFY_SOCKET"] = listener.path
        try daemon.start()
        var messages: [String] = []
        try waitUntil(timeout: 30, "READY=1") { messages += listener.drain(); return messages.contains { $0.contains("READY=1") } }
        return (daemon, listener)
    }

    /// A model file replaced by a broken one: RELOADING, then READY that says the reload was refused.
    @Test func aRefusedAutomaticReloadSaysSo() throws {
        let (daemon, listener) = try Self.startWithItsOwnModelFile()
        defer { daemon.remove() }
        let root = daemon.root, model = daemon.root + "/model.pth"
        var messages: [String] = []
        try FileManager.default.copyItem(atPath: DaemonHarness.fixture("engine/bad/truncated.pth"), toPath: root + "/next.pth")
        #expect(rename(root + "/next.pth", model) == 0)
        messages = []
        try waitUntil(timeout: 30, "READY after the refused reload") {
            messages += listener.drain()
            return messages.contains { $0.contains("RELOADING=1") } && messages.contains { $0.contains("READY=1") }
        }
        let ready = try #require(messages.last { $0.contains("READY=1") })
        #expect(ready.contains("refused") && !ready.contains("model reloaded"), "\(ready)")
    }

    /// The three reload triggers (a changed model file, `unetctl reload`, SIGHUP) run one operation:
    /// each is RELOADING=1 then READY=1 with the same STATUS= and the same log line, naming its trigger.
    @Test func everyReloadTriggerBehavesTheSame() throws {
        let (daemon, listener) = try Self.startWithItsOwnModelFile()
        defer { daemon.remove() }
        let root = daemon.root, model = daemon.root + "/model.pth"
        var messages: [String] = []
        func readyAfterReload(_ trigger: () throws -> Void) throws -> String {
            messages = []
            try trigger()
            try waitUntil(timeout: 30, "RELOADING then READY") {
                messages += listener.drain()
                guard let reloading = messages.firstIndex(where: { $0.contains("RELOADING=1") }) else { return false }
                return messages[reloading...].contains { $0.contains("READY=1") }
            }
            let ready = messages.last { $0.contains("READY=1") } ?? ""
            return ready.components(separatedBy: "\n").first { $0.hasPrefix("STATUS=") } ?? ""
        }
        let changedFile = try readyAfterReload {
            try FileManager.default.copyItem(atPath: DaemonHarness.fixture("engine/bare_transposed_c2.pth"), toPath: root + "/next.pth")
            #expect(rename(root + "/next.pth", model) == 0)
        }
        let sha = try daemon.status().model.sha256
        #expect(changedFile == "STATUS=model \(sha.prefix(12))", "\(changedFile)")
        let socket = try readyAfterReload { () throws in
            let reload = try unetctl(["--socket", daemon.socket, "reload"])
            #expect(reload.status == 0)
        }
        let signal = try readyAfterReload { #expect(kill(daemon.process!.processIdentifier, SIGHUP) == 0) }
        #expect(socket == changedFile && signal == changedFile, "\([changedFile, socket, signal])")
        let log = try daemon.logText()
        for trigger in ["model-file-changed", "socket", "sighup"] {
            #expect(log.contains("model reloaded") && log.contains("trigger=\(trigger)"), "no reload logged for \(trigger)")
        }
    }

    @Test func unitFileExposureIsLow() throws {
        let directory = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("systemd")
        let unit = directory.appendingPathComponent("unetd.service").path
        let template = directory.appendingPathComponent("unetd@.service").path
        for path in [unit, template] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for directive in ["Type=notify", "ExecReload=", "WatchdogSec=", "RuntimeDirectory=unetd", "StateDirectory=unetd",
                              "LogsDirectory=unetd", "ProtectSystem=strict", "NoNewPrivileges=yes", "RestrictAddressFamilies=AF_UNIX"] {
                #expect(text.contains(directive), "\(path): \(directive)")
            }
        }
        let instanceText = try String(contentsOfFile: template, encoding: .utf8)
        for perInstance in ["--config /usr/local/etc/unetd/%i.toml", "--root /var/lib/unetd/%i", "/run/unetd/%i/unetd.sock",
                            "StateDirectory=unetd/%i", "ReadWritePaths=/var/lib/unetd/%i /var/log/unetd/%i"] {
            #expect(instanceText.contains(perInstance), "\(perInstance)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
        // An instance of the template scores as the single unit does.
        let instance = try Fixtures.temporaryDirectory().appendingPathComponent("unetd@lab-a.service").path
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: instance).deletingLastPathComponent().path) }
        try FileManager.default.copyItem(atPath: template, toPath: instance)
        let scores = try [unit, instance].map { path -> Double in
            let report = try Fixtures.run("/usr/bin/systemd-analyze", ["security", "--offline=true", path])
            let line = try #require((report.stdout + report.stderr).split(separator: "\n").first { $0.contains("Overall exposure level") })
            return try #require(Double(line.split(separator: ":").last!.split(separator: " ").first!))
        }
        #expect(scores[0] <= 1.5, "unetd.service scores \(scores[0])")
        #expect(scores[1] == scores[0], "unetd@.service scores \(scores[1]), unetd.service \(scores[0])")
    }
}
