import ControlClient
import ControlProtocol
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Starts the real `unetd` binary on a temporary root and talks to it with the real client.
final class DaemonHarness {
    static func fixture(_ path: String) -> String { Fixtures.path(path) }
    /// A width-4 model: the daemon's behaviour, not the network's size, is under test.
    static let model = fixture("engine/ref_bilinear_c1_bias.pth")

    let root: String
    let arguments: [String]
    private(set) var process: Process?

    var socket: String { root + "/unetd.sock" }
    var inbox: String { root + "/inbox" }
    var client: ControlClient { ControlClient(socketPath: socket, timeout: 30) }

    var environment: [String: String] = ProcessInfo.processInfo.environment

    init(root: String? = nil, extra: [String] = []) throws {
        let directory = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("unetd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.root = directory
        arguments = ["--root", directory, "--model", Self.model, "--quiet-period", "0.3", "--rescan-interval", "2", "--threads", "2"] + extra
    }

    static func executable(_ name: String) -> String { Fixtures.executable(name) }

    /// Launches unetd and waits until it answers on its socket.
    func start() throws {
        process = try launch(arguments).process
        try waitUntil(timeout: 60, "unetd answers on \(socket)") { (try? self.status()) != nil }
    }

    /// Starts unetd with `arguments`, its standard error in a log file under the root; returns both.
    func launch(_ arguments: [String]) throws -> (process: Process, log: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable("unetd"))
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = root + "/daemon-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        return (process, log)
    }

    /// Waits until the daemon has nothing queued and nothing in progress: no further metrics line can
    /// come then, so a test can assert that none was doubled.
    func waitUntilIdle(timeout: Double = 60) throws {
        try waitUntil(timeout: timeout, "unetd is idle") { let status = try self.status(); return status.queue.pending == 0 && status.slides.isEmpty }
    }

    /// Everything the daemons started from this harness wrote to standard error (their logs).
    func logText() throws -> String {
        try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix("daemon-") && $0.hasSuffix(".log") }.sorted()
            .map { try String(contentsOfFile: root + "/" + $0, encoding: .utf8) }.joined()
    }

    func status() throws -> StatusResponse { try client.json("GET", ControlPath.status, as: StatusResponse.self) }

    /// SIGTERM and wait; returns the exit status and the seconds it took.
    @discardableResult
    func stop(timeout: Double = 30) throws -> (status: Int32, seconds: Double) {
        guard let process, process.isRunning else { return (0, 0) }
        let started = Date()
        process.terminate()
        try waitUntil(timeout: timeout, "unetd exits after SIGTERM") { !process.isRunning }
        return (process.terminationStatus, Date().timeIntervalSince(started))
    }

    func killHard() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func remove() {
        killHard()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Lines of logs/metrics.jsonl as dictionaries.
    func metrics() -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: root + "/logs/metrics.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The outputs a slide of the fixtures' size gets by default, for each stem, with the outbox's shared
    /// summary table (`summary.csv` and its lock) once, sorted as `files` lists them.
    static func defaultOutputs(_ stems: String...) -> [String] { defaultOutputs(stems) }

    static func defaultOutputs(_ stems: [String]) -> [String] {
        let own = stems.flatMap { stem in [".geojson", ".mask.png", ".objects.csv", ".overlay.png", ".result.json", ".summary.csv"].map { stem + $0 } }
        return (own + (stems.isEmpty ? [] : sharedOutputs)).sorted()
    }

    static let sharedOutputs = [".summary.csv.lock", "summary.csv"]

    func files(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + directory)) ?? []).sorted()
    }

    /// Temporary files (`.NAME.PID.RANDOM.tmp`) left anywhere the daemon writes.
    func temporaries() -> [String] {
        ["outbox", "archive", "failed", "state", "logs"].flatMap { directory in
            files(directory).filter { $0.hasSuffix(".tmp") }.map { directory + "/" + $0 }
        }
    }

    /// Copies a fixture into the inbox the way `cp` does (written in place).
    func drop(_ fixture: String, as name: String) throws {
        try FileManager.default.copyItem(atPath: Self.fixture(fixture), toPath: inbox + "/" + name)
    }
}

struct Timeout: Error, CustomStringConvertible {
    let description: String
}

func waitUntil(timeout: Double, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(100_000)
    }
    throw Timeout(description: "timed out after \(timeout)s waiting until \(what)")
}

/// Runs unetctl; returns exit status and output.
func unetctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: DaemonHarness.executable("unetctl"))
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
