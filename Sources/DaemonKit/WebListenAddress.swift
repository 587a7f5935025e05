#if canImport(Glibc)
import Glibc
#endif

/// Where unetd serves the web page over TCP itself (`http_listen`): `HOST:PORT`, with an IPv6 host in
/// brackets (`127.0.0.1:8750`, `[::1]:8750`, `0.0.0.0:8750`, `localhost:8750`).
public struct WebListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host as the socket takes it (no brackets).
    public let host: String
    public let port: Int

    /// nil when `text` is not `HOST:PORT` with a numeric address or `localhost` and a port in 1–65535.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard host == "localhost" || Self.isNumeric(host, family: AF_INET) || Self.isNumeric(host, family: AF_INET6) else { return nil }
        self.host = host
        self.port = port
    }

    /// Whether only this machine can connect: 127.0.0.0/8, ::1 or localhost. Any other address needs
    /// `http_token`.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.") && Self.isNumeric(host, family: AF_INET)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The page's address, as a browser on this machine (loopback) or elsewhere would open it.
    public var url: String {
        let shown = ["0.0.0.0", "::"].contains(host) ? "HOSTNAME" : (host.contains(":") ? "[\(host)]" : host)
        return "http://\(shown):\(port)/"
    }

    private static func isNumeric(_ host: String, family: Int32) -> Bool {
        var buffer = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { inet_pton(family, host, $0.baseAddress) == 1 }
    }
}
