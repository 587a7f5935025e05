import ControlProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for unetd's Unix socket: one request per connection
/// (`Connection: close`), response read to end of stream. Blocking, with a timeout on every socket
/// operation, which is all `unetctl` and the tests need.
public struct ControlClient: Sendable {
    public let socketPath: String
    public let timeout: Double

    public init(socketPath: String, timeout: Double = 120) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    public struct Response: Sendable {
        public let status: Int
        public let body: Data
    }

    public enum ClientError: Error, CustomStringConvertible {
        case notRunning(String, String)
        case protocolError(String)
        case server(Int, String)

        public var description: String {
            switch self {
            case .notRunning(let path, let reason): "unetd is not running (cannot connect to \(path): \(reason))"
            case .protocolError(let message): "bad response from unetd: \(message)"
            case .server(let status, let message): "unetd answered \(status): \(message)"
            }
        }
    }

    /// A stream socket connected to `socketPath` (reads and writes time out after `timeout` seconds),
    /// or -1 and the errno that stopped it (ENAMETOOLONG for a path too long for `sun_path`).
    public static func connect(_ socketPath: String, timeout: Double) -> (descriptor: Int32, errorNumber: Int32) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return (-1, errno) }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { close(fd); return (-1, ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            return (-1, code)
        }
        return (fd, 0)
    }

    /// Whether something listens on `socketPath`: 0 when a connection is accepted into its backlog
    /// (a busy listener counts), else the errno (ECONNREFUSED: no listener, the socket is stale).
    public static func probe(_ socketPath: String) -> Int32 {
        let (fd, failure) = connect(socketPath, timeout: 1)
        if fd >= 0 { close(fd) }
        return failure
    }

    public func request(_ method: String, _ path: String, body: Data? = nil) throws -> Response {
        let (fd, failure) = Self.connect(socketPath, timeout: timeout)
        guard fd >= 0 else { throw ClientError.notRunning(socketPath, String(cString: strerror(failure))) }
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: unetd\r\nConnection: close\r\nContent-Length: \(body?.count ?? 0)\r\n"
        if body != nil { head += "Content-Type: application/json\r\n" }
        head += "\r\n"
        var outgoing = Data(head.utf8)
        if let body { outgoing.append(body) }
        try outgoing.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw ClientError.protocolError("send failed: \(String(cString: strerror(errno)))") }
                sent += n
            }
        }
        var incoming = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw ClientError.protocolError("receive failed: \(String(cString: strerror(errno)))") }
            incoming.append(contentsOf: buffer[0..<n])
        }
        return try Self.parse(incoming)
    }

    /// Splits status line, headers and body; handles Content-Length and chunked bodies.
    static func parse(_ data: Data) throws -> Response {
        guard let separator = data.firstRange(of: Data("\r\n\r\n".utf8)) else { throw ClientError.protocolError("no header end") }
        let head = String(decoding: data[..<separator.lowerBound], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = head.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw ClientError.protocolError("no status line")
        }
        var body = Data(data[separator.upperBound...])
        let chunked = head.contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        if chunked {
            var decoded = Data(), rest = body[...]
            while let lineEnd = rest.firstRange(of: Data("\r\n".utf8)),
                  let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? "", radix: 16), size > 0 {
                let start = lineEnd.upperBound
                guard rest.distance(from: start, to: rest.endIndex) >= size else { break }
                decoded.append(rest[start..<rest.index(start, offsetBy: size)])
                rest = rest[rest.index(start, offsetBy: min(size + 2, rest.distance(from: start, to: rest.endIndex)))...]
            }
            body = decoded
        }
        return Response(status: status, body: body)
    }

    /// GET/POST with a JSON body decoded as `T`; non-2xx answers throw with the server's message.
    public func json<T: Decodable & Sendable>(_ method: String, _ path: String, body: (some Encodable)? = Optional<ReloadRequest>.none, as type: T.Type) throws -> T {
        let payload = try body.map { try ControlCoding.encoder().encode($0) }
        let response = try request(method, path, body: payload)
        guard (200..<300).contains(response.status) else {
            if let failure = try? ControlCoding.decoder().decode(T.self, from: response.body) { throw FailedResponse(status: response.status, value: failure) }
            let message = (try? ControlCoding.decoder().decode(ErrorResponse.self, from: response.body))?.error
                ?? String(decoding: response.body, as: UTF8.self)
            throw ClientError.server(response.status, message)
        }
        do { return try ControlCoding.decoder().decode(T.self, from: response.body) } catch {
            throw ClientError.protocolError("cannot decode \(T.self): \(error)")
        }
    }
}

/// A non-2xx answer whose body still decodes as the expected type (e.g. a refused reload).
public struct FailedResponse<T: Sendable>: Error {
    public let status: Int
    public let value: T
}
