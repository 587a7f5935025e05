import ControlClient
import ControlProtocol
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What an admin gets wrong at start is refused with the setting named; abuse of the socket is answered.
@Suite(.serialized) struct StartupCheckTests {
    static func refusal(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let root = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try Fixtures.run(DaemonHarness.executable("unetd"), ["--root", root, "--model", DaemonHarness.model] + arguments)
        return (result.status, result.stderr)
    }

    @Test(arguments: [
        (["--threads", "0"], "threads"),
        (["--quiet-period=-1", "--threads=-3"], "threads"),
        (["--quiet-period=-1"], "quiet_period"),
        (["--rescan-interval", "0"], "rescan_interval"),
    ])
    func outOfRangeFlagsAreRefused(arguments: [String], key: String) throws {
        let result = try Self.refusal(arguments)
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("'\(key)'"), "\(result.stderr)")
    }

    @Test func aSocketGroupThatDoesNotExistIsRefused() throws {
        let root = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "socket_group = \"no-such-group-unetd\"\n".write(toFile: root + "/unetd.toml", atomically: true, encoding: .utf8)
        let result = try Fixtures.run(DaemonHarness.executable("unetd"), ["--root", root, "--config", root + "/unetd.toml"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("'socket_group'") && result.stderr.contains("no-such-group-unetd"), "\(result.stderr)")
    }

    @Test func aHugeRequestHeaderGets431() throws {
        let daemon = try DaemonHarness()
        defer { daemon.remove() }
        try daemon.start()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(daemon.socket.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes); $0[bytes.count] = 0 }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        var time = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20) + Array("\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }  // the daemon answers and closes before reading it all
            sent += n
        }
        var answer = [UInt8](repeating: 0, count: 4096)
        let received = recv(fd, &answer, answer.count, 0)
        #expect(received > 0)
        #expect(String(decoding: answer.prefix(max(received, 0)), as: UTF8.self).hasPrefix("HTTP/1.1 431"))
        #expect(try daemon.status().state == .running)
    }
}
