import ControlClient
import ControlProtocol
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// unetd assembled: model registry, job store, processor and control server under one ServiceGroup
/// (SIGTERM/SIGINT shut down gracefully, in reverse order), SIGHUP reloads the model.
public struct Daemon {
    public let configuration: DaemonConfiguration

    public init(configuration: DaemonConfiguration) { self.configuration = configuration }

    /// Sets up logging and metrics once per process.
    public static func bootstrap(prometheus: PrometheusCollectorRegistry) {
        LoggingSystem.bootstrap { JournalLogHandler(label: $0) }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))
    }

    public func run(prometheus: PrometheusCollectorRegistry) async throws {
        let logger = Logger(label: "unetd")
        try Spool(configuration: configuration).prepareDirectories()
        try Self.claimSocketPath(configuration.socket)
        let registry = try ModelRegistry(path: configuration.model, threads: configuration.threads)
        let store = try JobStore(path: configuration.database)
        let status = DaemonStatus()
        let notifier = SystemdNotifier()
        let processor = SlideProcessor(configuration: configuration, store: store, registry: registry, status: status,
                                       notifier: notifier, logger: logger)
        let dependencies = ControlServer.Dependencies(configuration: configuration, store: store, registry: registry, status: status,
                                                      notifier: notifier, prometheus: prometheus, nudge: { processor.nudge() })
        let configuration = self.configuration
        let server = ControlServer.application(dependencies, logger: logger) {
            Self.secureSocket(configuration, logger: logger)
            if status.markReady(listening: true) { await processor.announceReady() }
        }
        let reloader = SignalReloader(dependencies: dependencies, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: processor), .init(service: server), .init(service: reloader)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        unlink(configuration.socket)
        logger.info("stopped")
    }

    /// Removes a stale socket file, or refuses to start when another unetd answers on it.
    static func claimSocketPath(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        if (try? ControlClient(socketPath: path, timeout: 2).request("GET", ControlPath.status)) != nil {
            throw SpoolError("another unetd is already listening on \(path)")
        }
        unlink(path)
    }

    /// Socket mode (default 0660) and group, so only the lab's group can drive the daemon.
    static func secureSocket(_ configuration: DaemonConfiguration, logger: Logger) {
        chmod(configuration.socket, mode_t(configuration.socketMode))
        if let name = configuration.socketGroup {
            if let group = getgrnam(name) {
                chown(configuration.socket, uid_t.max, group.pointee.gr_gid)
            } else {
                logger.warning("socket group not found; leaving the socket's group as is", metadata: ["group": "\(name)"])
            }
        }
    }
}

/// SIGHUP → reload the configured model (as `systemctl reload` would through ExecReload).
struct SignalReloader: Service {
    let dependencies: ControlServer.Dependencies
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            logger.notice("SIGHUP: reloading the model")
            _ = try? await ControlServer.performReload(dependencies, path: nil, logger: logger)
        }
    }
}
