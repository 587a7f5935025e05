import ControlClient
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A second start never takes a live daemon's socket or state: it refuses at once and leaves both alone.
@Suite struct StartupClaimTests {
    /// Runs unetd with `arguments`, expecting it to give up; fails (and stops it) if it is still running after 30 s.
    static func refusedStart(_ arguments: [String], harness: DaemonHarness) throws -> (status: Int32, stderr: String) {
        let (process, log) = try harness.launch(arguments)
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        try waitUntil(timeout: 30, "the second unetd gives up") { !process.isRunning }
        return (process.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// A listener that accepts nothing: alive, but slower to answer than any timeout.
    static func silentListener(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw Timeout(description: "cannot listen on \(path): \(errno)") }
        return fd
    }

    @Test func aLiveButSilentListenerKeepsItsSocket() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("unetd-claim-\(UUID().uuidString)").path
        let daemon = try DaemonHarness(root: root)
        defer { daemon.remove() }
        let listener = try Self.silentListener(at: daemon.socket)
        defer { close(listener) }
        let refused = try Self.refusedStart(daemon.arguments, harness: daemon)
        #expect(refused.status != 0 && refused.stderr.contains("another unetd is already listening"), "\(refused.stderr)")
        // The listener's socket is still there and still takes connections.
        #expect(ControlClient.probe(daemon.socket) == 0)
    }

    @Test func aSecondDaemonOnTheSameStateRefusesWhateverItsSocket() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let refused = try Self.refusedStart(daemon.arguments + ["--socket", daemon.root + "/other.sock"], harness: daemon)
        #expect(refused.status != 0 && refused.stderr.contains("is running on this state directory"), "\(refused.stderr)")
        #expect(refused.stderr.contains("pid \(daemon.process!.processIdentifier)"))
        #expect(try daemon.status().state == .running)
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/other.sock"))
    }

    /// A socket file with no listener (a daemon killed with -9) is stale: the next start removes it and serves.
    @Test func aStaleSocketIsReplaced() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        close(try Self.silentListener(at: daemon.socket))  // bound, then closed: the file stays, nobody listens
        #expect(ControlClient.probe(daemon.socket) == ECONNREFUSED)
        try daemon.start()
        #expect(try daemon.status().state == .running)
    }
}
