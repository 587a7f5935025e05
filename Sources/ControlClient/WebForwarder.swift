import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `unetctl web`: a loopback TCP port in front of unetd's socket, like `kubectl port-forward`, for the
/// web page. Only reads pass: each connection carries one GET or HEAD, sent on with `Connection:
/// close` so the daemon's answer ends the exchange; anything else is answered 405 here, so a
/// browser (or anyone else on the machine) can look but never drive the daemon, which stays the
/// socket's business and its permissions'.
public final class WebForwarder: Sendable {
    public let socketPath: String
    public let port: Int
    private let listener: Int32

    public enum ForwarderError: Error, CustomStringConvertible {
        case cannotListen(port: Int, reason: String)
        public var description: String {
            switch self {
            case .cannotListen(let port, let reason): "cannot listen on 127.0.0.1:\(port): \(reason); choose another with --port"
            }
        }
    }

    /// Listens on 127.0.0.1:`port` (0: any free port; `port` then says which).
    public init(socketPath: String, port: Int) throws {
        self.socketPath = socketPath
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ForwarderError.cannotListen(port: port, reason: String(cString: strerror(errno))) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(INADDR_LOOPBACK).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ForwarderError.cannotListen(port: port, reason: reason)
        }
        listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// The address to open in a browser.
    public var url: String { "http://127.0.0.1:\(port)/" }

    /// Accepts connections for ever, each served on a thread of its own.
    public func run() -> Never {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let socketPath = self.socketPath
            Thread.detachNewThread { Self.serve(client, socketPath: socketPath) }
        }
    }

    /// One exchange: the request head read and checked, sent on, the answer copied back to its end.
    static func serve(_ client: Int32, socketPath: String) {
        defer { close(client) }
        var time = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        guard let head = readHead(client) else { return }
        guard let forwarded = readOnlyRequest(head) else {
            answer(client, status: "405 Method Not Allowed", "the web page is read-only: drive unetd with unetctl instead", extra: "Allow: GET, HEAD\r\n")
            return
        }
        let (daemon, failure) = ControlClient.connect(socketPath, timeout: 120)
        guard daemon >= 0 else {
            answer(client, status: "502 Bad Gateway", "unetd is not running (cannot connect to \(socketPath): \(String(cString: strerror(failure))))")
            return
        }
        defer { close(daemon) }
        guard send(daemon, forwarded) else { return }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = read(daemon, &buffer, buffer.count)
            guard count > 0, send(client, Array(buffer[..<count])) else { return }
        }
    }

    /// Bytes up to and including the blank line that ends the head (at most 64 KiB), or nil.
    static func readHead(_ fd: Int32) -> [UInt8]? {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while head.count < 64 * 1024 {
            guard read(fd, &byte, 1) == 1 else { return nil }
            head.append(byte)
            if head.count >= 4, head.suffix(4) == [13, 10, 13, 10] { return head }
        }
        return nil
    }

    /// A GET or HEAD head with its `Connection` headers replaced by `Connection: close`; nil for any
    /// other method, or a head that announces a body.
    static func readOnlyRequest(_ head: [UInt8]) -> [UInt8]? {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard let requestLine = lines.first, let method = requestLine.split(separator: " ").first,
              method == "GET" || method == "HEAD" else { return nil }
        lines.removeAll { line in
            let name = line.split(separator: ":", maxSplits: 1).first?.lowercased() ?? ""
            return name == "connection" || name == "keep-alive"
        }
        guard !lines.dropFirst().contains(where: { line in
            let name = line.split(separator: ":", maxSplits: 1).first?.lowercased() ?? ""
            return name == "content-length" || name == "transfer-encoding"
        }) else { return nil }
        return Array((lines.joined(separator: "\r\n") + "\r\nConnection: close\r\n\r\n").utf8)
    }

    /// A plain-text answer of the forwarder's own.
    static func answer(_ fd: Int32, status: String, _ message: String, extra: String = "") {
        send(fd, Array("HTTP/1.1 \(status)\r\n\(extra)Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(message.utf8.count)\r\nConnection: close\r\n\r\n\(message)".utf8))
    }

    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
