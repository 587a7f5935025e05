import Foundation
import TestSupport

/// A real, headless Chromium driven over W3C WebDriver by Debian's `chromedriver`: the browser tests'
/// hands. Screenshots go to `.build/browser-screenshots/` (the CI keeps them as artefacts).
final class WebDriver {
    static let chromedriver = "/usr/bin/chromedriver"
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// Whether the browser tests can run here (`make deps` installs both).
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: chromedriver) && chromium != nil }
    static var screenshots: String {
        Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/browser-screenshots").path
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    private let process: Process
    private let port: Int
    private var session = ""

    init() throws {
        port = try LoopbackHTTP.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.chromedriver)
        process.arguments = ["--port=\(port)"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        try waitUntil(timeout: 30, "chromedriver answers") { (try? self.call("GET", "/status")) != nil }
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": ["binary": Self.chromium ?? "", "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                                                            "--disable-dev-shm-usage", "--window-size=1280,900"]],
        ]]]
        let created = try call("POST", "/session", capabilities) as? [String: Any]
        guard let id = created?["sessionId"] as? String else { throw Failure(description: "chromedriver made no session: \(String(describing: created))") }
        session = id
    }

    deinit {
        _ = try? call("DELETE", "/session/\(session)")
        // chromedriver does not always exit on SIGTERM (a test once hung here for ever): it is killed.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// One WebDriver command; its `value`.
    @discardableResult
    func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> Any? {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let response = try LoopbackHTTP.request(port: port, method, path, headers: ["Content-Type": "application/json"], body: payload)
        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        if let value = object?["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure(description: "\(method) \(path): \(error): \(value["message"] ?? "")")
        }
        return object?["value"]
    }

    func open(_ url: String) throws { try call("POST", "/session/\(session)/url", ["url": url]) }

    /// Runs `script` in the page (`return ...` gives a value).
    func run(_ script: String, _ arguments: [Any] = []) throws -> Any? {
        try call("POST", "/session/\(session)/execute/sync", ["script": script, "args": arguments])
    }

    func text(_ selector: String) throws -> String {
        try run("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", [selector]) as? String ?? ""
    }

    func click(_ selector: String) throws {
        let found = try call("POST", "/session/\(session)/element", ["using": "css selector", "value": selector]) as? [String: Any]
        guard let id = found?.values.first as? String else { throw Failure(description: "no element \(selector)") }
        try call("POST", "/session/\(session)/element/\(id)/click", [:])
    }

    /// A real mouse click at (`x`, `y`) in the viewport, through the Actions API.
    func click(x: Int, y: Int) throws {
        try call("POST", "/session/\(session)/actions", ["actions": [[
            "type": "pointer", "id": "mouse", "parameters": ["pointerType": "mouse"],
            "actions": [["type": "pointerMove", "x": x, "y": y, "duration": 0], ["type": "pointerDown", "button": 0],
                        ["type": "pause", "duration": 50], ["type": "pointerUp", "button": 0]],
        ]]])
    }

    /// Saves the viewport as `NAME.png` under `screenshots`.
    func screenshot(_ name: String) throws {
        guard let encoded = try call("GET", "/session/\(session)/screenshot") as? String, let png = Data(base64Encoded: encoded) else {
            throw Failure(description: "no screenshot")
        }
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: Self.screenshots + "/" + name + ".png"))
    }

    /// The page's errors (console.error, uncaught exceptions, rejected promises, as unetd.js collects
    /// them) and every request it made that failed or answered 4xx/5xx.
    func problems() throws -> [String] {
        let errors = try run("return window.unetdErrors || ['unetd.js did not load'];") as? [String] ?? []
        let failed = try run("""
            return performance.getEntriesByType('resource')
              .filter(e => e.responseStatus === 0 || e.responseStatus >= 400).map(e => e.name + ' ' + e.responseStatus);
            """) as? [String] ?? []
        return errors + failed
    }
}
