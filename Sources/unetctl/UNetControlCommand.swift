import ArgumentParser
import ControlClient
import ControlProtocol
import Foundation

@main
struct UNetControlCommand: ParsableCommand {
    /// Accepts `unetctl --socket PATH status` as well as `unetctl status --socket PATH`: the socket
    /// option given before the subcommand is moved after it, where the subcommands declare it.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--socket", arguments.count >= 2 {
            let option = Array(arguments[0..<2])
            arguments.removeFirst(2)
            arguments += option
        } else if let first = arguments.first, first.hasPrefix("--socket=") {
            arguments.append(arguments.removeFirst())
        }
        main(arguments)
    }

    static let configuration = CommandConfiguration(
        commandName: "unetctl",
        abstract: "Talk to a running unetd over its Unix socket.",
        subcommands: [Status.self, Jobs.self, Reload.self, Pause.self, Resume.self, Retry.self, Web.self])

    struct Connection: ParsableArguments {
        @Option(help: "unetd's socket (default: $UNETD_SOCKET, else /run/unetd/unetd.sock).")
        var socket: String = ProcessInfo.processInfo.environment["UNETD_SOCKET"] ?? "/run/unetd/unetd.sock"

        var client: ControlClient { ControlClient(socketPath: socket) }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "State, model, queue, counts and each slide in progress (tiles, MP/s, ETA).")
        @OptionGroup var connection: Connection
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Refresh once a second until interrupted (Ctrl-C).") var watch = false

        func run() throws {
            if watch { restoreStopSignals() }  // interrupted is how --watch ends
            try failing {
                repeat {
                    let status = try connection.client.json("GET", ControlPath.status, as: StatusResponse.self)
                    if json {
                        printJSON(status)
                    } else {
                        // On a terminal each frame replaces the last; piped, frames follow one another.
                        if watch && isatty(STDOUT_FILENO) == 1 { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                        if watch { print("unetd status at \(ISO8601DateFormatter().string(from: Date()))") }
                        for (key, value) in Self.rows(status) { print("\(key.padding(toLength: 11, withPad: " ", startingAt: 0)) \(value)") }
                    }
                    if watch {
                        fflush(nil)  // every stream: `stdout` itself is a global Swift 6 will not touch
                        sleep(1)
                    }
                } while watch
            }
        }

        static func rows(_ status: StatusResponse) -> [(String, String)] {
            var rows = [("state", status.state.rawValue), ("node", status.node), ("model", "\(status.model.path)"), ("sha256", status.model.sha256),
                        ("loaded", ISO8601DateFormatter().string(from: status.model.loadedAt)),
                        ("queue", "\(status.queue.pending) pending" + (status.queue.deferred > 0 ? ", \(status.queue.deferred) deferred" : "")),
                        ("done", "\(status.counts.done)"), ("failed", "\(status.counts.failed)")]
            if let nuclei = status.counts.nuclei { rows.append(("nuclei", "\(nuclei) found")) }
            for slide in status.slides { rows.append(("working on", slide.progressDescription)) }
            if let degraded = status.degraded {
                let free = degraded.freeBytes.map { ", \(ByteCountFormatter.string(fromByteCount: $0, countStyle: .file)) free" } ?? ""
                rows.insert(("degraded", "\(degraded.reason)\(free); retrying by itself"), at: 1)
            }
            if let reload = status.lastReload, !reload.ok { rows.append(("last reload", "refused: \(reload.error ?? "?")")) }
            return rows
        }
    }

    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recent jobs, newest first, with their outcome.")
        @OptionGroup var connection: Connection
        @Option(help: "How many.") var limit = 20
        @Option(help: "Only jobs in this state: \(JobState.allCases.map(\.rawValue).joined(separator: ", ")).") var state: JobState?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try failing {
                let filter = state.map { "&state=\($0.rawValue)" } ?? ""
                let jobs = try connection.client.json("GET", "\(ControlPath.jobs)?limit=\(limit)\(filter)", as: JobsResponse.self)
                if json { return printJSON(jobs) }
                for job in jobs.jobs {
                    let seconds = job.seconds.map { String(format: "%7.1fs", $0) } ?? "        "
                    print("\(String(job.id).padding(toLength: 6, withPad: " ", startingAt: 0)) \(job.state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(seconds)  \(job.name)\(job.error.map { "  (\($0))" } ?? "")")
                }
            }
        }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load and check a model (default: the configured one), then swap it in.")
        @OptionGroup var connection: Connection
        @Argument(help: "Model file to switch to.") var model: String?

        func run() throws {
            try failing {
                let path = model.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
                do {
                    let response = try connection.client.json("POST", ControlPath.reload, body: ReloadRequest(model: path), as: ReloadResponse.self)
                    print("reloaded: \(response.model.path) (sha256 \(response.model.sha256))")
                } catch let failure as FailedResponse<ReloadResponse> {
                    throw ValidationError("reload refused, still serving \(failure.value.model.sha256.prefix(12)): \(failure.value.error ?? "unknown")")
                }
            }
        }
    }

    struct Web: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open the web page: forward a loopback port to unetd's socket and print its URL (read-only).",
            discussion: "From another machine: ssh -L 8750:127.0.0.1:8750 SERVER, then open http://127.0.0.1:8750/ there.")
        @OptionGroup var connection: Connection
        @Option(help: "Loopback port to listen on (0: any free one).") var port = 8750

        func run() throws {
            try failing {
                restoreStopSignals()  // stopped is how it ends
                _ = try connection.client.json("GET", ControlPath.status, as: StatusResponse.self)  // say so now if unetd is not running
                let forwarder = try WebForwarder(socketPath: connection.client.socketPath, port: port)
                FileHandle.standardOutput.write(Data("unetd's web page: \(forwarder.url)  (Ctrl-C to stop)\n".utf8))
                forwarder.run()
            }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop starting new slides (the current one finishes).")
        @OptionGroup var connection: Connection
        func run() throws { try failing { print(try connection.client.json("POST", ControlPath.pause, as: StatusResponse.self).state.rawValue) } }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a failed (or deferred) slide back into the queue, after fixing it or freeing space.")
        @OptionGroup var connection: Connection
        @Argument(help: "The slide's name as dropped (NAME.tif).") var name: String?
        @Flag(help: "Every failed slide.") var allFailed = false

        func validate() throws {
            guard (name != nil) != allFailed else { throw ValidationError("give a slide NAME or --all-failed") }
        }

        func run() throws {
            try failing {
                let response = try connection.client.json("POST", ControlPath.retry, body: RetryRequest(name: name, allFailed: allFailed),
                                                          as: RetryResponse.self)
                guard !response.requeued.isEmpty else { throw ValidationError("no failed slide \(name.map { "named \($0)" } ?? "") to retry") }
                for slide in response.requeued { print("requeued \(slide)") }
            }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start taking slides again.")
        @OptionGroup var connection: Connection
        func run() throws { try failing { print(try connection.client.json("POST", ControlPath.resume, as: StatusResponse.self).state.rawValue) } }
    }
}

/// One `error: ...` line and exit 1 for any failure (daemon not running included).
func failing(_ body: () throws -> Void) throws {
    do { try body() } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

extension JobState: ExpressibleByArgument {}

func printJSON(_ value: some Encodable) {
    let encoder = ControlCoding.encoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    print(String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self))
}

/// For the commands that run until stopped (`status --watch`, `web`): SIGINT, SIGTERM and SIGHUP end
/// the process. A parent may have left them ignored or blocked (a shell's background job, a test
/// runner's thread: a forwarder once outlived its test that way), and both survive exec: undo them.
func restoreStopSignals() {
    var stops = sigset_t()
    sigemptyset(&stops)
    for stop in [SIGINT, SIGTERM, SIGHUP] {
        signal(stop, SIG_DFL)
        sigaddset(&stops, stop)
    }
    sigprocmask(SIG_UNBLOCK, &stops, nil)
}
