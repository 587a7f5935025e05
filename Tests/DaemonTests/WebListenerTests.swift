import ControlProtocol
@testable import DaemonKit
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// `http_listen` and `http_token`: the page on TCP is read-only, and beyond loopback only for whoever
/// holds the token.
@Suite struct WebListenerTests {
    static let token = "0123456789abcdef0123"

    @Test func listenAddressesAndTokensAreCheckedAtStart() throws {
        #expect(WebListenAddress("127.0.0.1:8750")?.isLoopback == true)
        #expect(WebListenAddress("[::1]:8750")?.isLoopback == true && WebListenAddress("[::1]:8750")?.host == "::1")
        #expect(WebListenAddress("localhost:8750")?.isLoopback == true)
        #expect(WebListenAddress("0.0.0.0:8750")?.isLoopback == false)
        #expect(WebListenAddress("[::]:8750")?.isLoopback == false)
        for bad in ["8750", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "lab-server:8750", "127.0.0.1:port", "[::1:8750"] {
            #expect(WebListenAddress(bad) == nil, "\(bad)")
        }
        func problem(_ toml: String) throws -> String? {
            let root = try Fixtures.temporaryDirectory().path
            defer { try? FileManager.default.removeItem(atPath: root) }
            try toml.write(toFile: root + "/unetd.toml", atomically: true, encoding: .utf8)
            var configuration = DaemonConfiguration(root: root)
            do { try configuration.apply(tomlFile: root + "/unetd.toml") } catch { return "\(error)" }
            return nil
        }
        #expect(try problem("http_listen = \"127.0.0.1:8750\"\n") == nil)
        #expect(try problem("http_listen = \"0.0.0.0:8750\"\nhttp_token = \"\(Self.token)\"\n") == nil)
        #expect(try problem("http_listen = \"0.0.0.0:8750\"\n")?.contains("set 'http_token'") == true)
        #expect(try problem("http_listen = \"0.0.0.0:8750\"\nhttp_token = \"short\"\n")?.contains("at least 16") == true)
        #expect(try problem("http_listen = \"0.0.0.0:8750\"\nhttp_token = \"0123456789abcdef;0123\"\n")?.contains("at least 16") == true)
        #expect(try problem("http_token = \"\(Self.token)\"\n")?.contains("'http_listen' is not") == true)
        #expect(try problem("http_listen = \"example.org:80\"\n")?.contains("'http_listen' must be") == true)
    }

    @Test func theTokenIsAskedForAndNothingButReadingIsServed() async throws {
        try await ControlControllerTests.withRouter(configure: {
            $0.httpListen = WebListenAddress("0.0.0.0:8750")
            $0.httpToken = Self.token
        }, router: ControlServer.webRouter) { client, dependencies in
            for uri in ["/", ControlPath.status, "/static/style.css", "/?token=wrong-token-0123456"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                    #expect(String(buffer: response.body).contains("?token="))
                }
            }
            let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)"]
            try await client.execute(uri: ControlPath.status, method: .get, headers: bearer) { response in
                #expect(response.status == .ok)
                let status = try ControlCoding.decoder().decode(StatusResponse.self, from: Data(buffer: response.body))
                #expect(status.state == .running)
            }
            // A browser's first visit: the token in the address becomes a cookie, and the address loses it.
            let cookie = try await client.execute(uri: "/summary?token=\(Self.token)&sort=name", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/summary?sort=name")
                let set = response.headers[.setCookie] ?? ""
                #expect(set.contains("unetd_token=\(Self.token)") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "\(set)")
                return String(set.prefix { $0 != ";" })
            }
            try await client.execute(uri: "/summary", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok && String(buffer: response.body).contains("<html"))
            }
            // Changing anything stays on the socket, token or not.
            for path in [ControlPath.reload, ControlPath.pause, ControlPath.resume, ControlPath.retry] {
                try await client.execute(uri: path, method: .post, headers: bearer, body: ByteBuffer(string: "{}")) { response in
                    #expect([.notFound, .methodNotAllowed].contains(response.status), "\(path): \(response.status)")
                }
            }
            #expect(!dependencies.status.paused)
        }
    }

    /// The real daemon on a real TCP port.
    @Test func unetdServesThePageOnItsOwnPort() throws {
        let port = try LoopbackHTTP.freePort()
        let root = try Fixtures.temporaryDirectory().path
        try "http_listen = \"127.0.0.1:\(port)\"\nhttp_token = \"\(Self.token)\"\n".write(toFile: root + "/unetd.toml", atomically: true, encoding: .utf8)
        let daemon = try DaemonHarness(root: root, extra: ["--config", root + "/unetd.toml"])
        defer { daemon.remove() }
        try daemon.start()
        try waitUntil(timeout: 60, "the web listener answers") { (try? LoopbackHTTP.request(port: port, "GET", "/")) != nil }
        #expect(try LoopbackHTTP.request(port: port, "GET", "/").status == 401)
        let page = try LoopbackHTTP.request(port: port, "GET", "/", headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(page.status == 200 && page.text.contains("<html"))
        let status = try LoopbackHTTP.request(port: port, "GET", ControlPath.status, headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(try ControlCoding.decoder().decode(StatusResponse.self, from: status.body).model.sha256.isEmpty == false)
        let pause = try LoopbackHTTP.request(port: port, "POST", ControlPath.pause, headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(pause.status == 404 || pause.status == 405)
        #expect(try daemon.status().state == .running)
    }
}
