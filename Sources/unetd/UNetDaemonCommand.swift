import ArgumentParser
import DaemonKit
import Foundation
import Prometheus

@main
struct UNetDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unetd",
        abstract: "Watch an inbox of slides, segment each, write masks, overlays and summaries to an outbox.",
        discussion: "Control it with unetctl (status, jobs, reload, pause, resume) over DIR/unetd.sock.")

    @Option(help: "Root directory for inbox/, outbox/, archive/, failed/, state/, logs/ and unetd.sock.") var root: String
    @Option(help: "Model file; default: the config's, else the embedded default model.") var model: String?
    @Option(help: "TOML configuration file (etc/unetd/unetd.toml documents every key).") var config: String?
    @Option(help: "Threads (1–256).") var threads: Int?
    @Option(help: "Arithmetic: fp32, bf16, or auto (bf16 where the CPU has native bf16 dot products).") var precision: String?
    @Option(help: "Seconds a file must be unchanged before it is claimed.") var quietPeriod: Double?
    @Option(help: "Seconds between full inbox scans.") var rescanInterval: Double?
    @Option(help: "Unix socket path.") var socket: String?
    @Option(help: "State directory (job database, spool); give each daemon its own when several share an inbox.") var state: String?
    @Option(help: "Inbox directory.") var inbox: String?
    @Option(help: "Outbox directory.") var outbox: String?
    @Option(help: "Spool directory for claimed slides (default STATE/spool; on the inbox's file system).") var spool: String?
    @Option(help: "This daemon's name on shared directories (default: the host name).") var nodeName: String?
    @Option(help: "How to watch the inbox: inotify, poll (network mounts) or both.") var watch: String?
    @Option(help: "Seconds between inbox listings under --watch poll.") var pollInterval: Double?
    @Option(help: "Slides segmented at once, each with --threads threads.") var workers: Int?

    func run() async throws {
        var configuration = DaemonConfiguration(root: root)
        do {
            if let config { try configuration.apply(tomlFile: config) }
            if let model { configuration.model = model }
            if let threads { configuration.threads = threads }
            if let precision { try configuration.setPrecision(precision, source: "--precision") }
            if let quietPeriod { configuration.quietPeriod = quietPeriod }
            if let rescanInterval { configuration.rescanInterval = rescanInterval }
            if let socket { configuration.socket = socket }
            if let state { configuration.state = state }
            if let inbox { configuration.inbox = inbox }
            if let outbox { configuration.outbox = outbox }
            if let spool { configuration.customSpool = spool }
            if let nodeName { configuration.nodeName = nodeName }
            if let watch {
                guard let mode = DaemonConfiguration.WatchMode(rawValue: watch) else {
                    throw DaemonConfiguration.Problem(message: "--watch must be inotify, poll or both, not \"\(watch)\"")
                }
                configuration.watch = mode
            }
            if let pollInterval { configuration.pollInterval = pollInterval }
            if let workers { configuration.workers = workers }
            try configuration.validate()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let prometheus = PrometheusCollectorRegistry()
        Daemon.bootstrap(prometheus: prometheus)
        do {
            try await Daemon(configuration: configuration).run(prometheus: prometheus)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
