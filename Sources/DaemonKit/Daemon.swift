import ControlClient
import ControlProtocol
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UNetCore
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
        SystemAllocator.mapLargeBlocksApart()  // so that a reload costs no memory for good
        try NodeIdentity.set(configuration.nodeName)
        try Spool(configuration: configuration).prepareDirectories()
        let lock = try StateLock(stateDirectory: configuration.state)
        defer { withExtendedLifetime(lock) {} }
        try Self.claimSocketPath(configuration.socket)
        let pools = DaemonPools(workers: configuration.workers), files = pools.files
        let configuration = self.configuration
        let registry = try await files.run { try ModelRegistry(path: configuration.model, threads: configuration.threads, workers: configuration.workers,
                                                                 precision: configuration.precision, io: files) }
        let store = try await pools.database.run { try JobStore(path: configuration.database) }
        let status = DaemonStatus()
        let notifier = SystemdNotifier()
        let processor = SlideProcessor(configuration: configuration, store: store, registry: registry, status: status,
                                       notifier: notifier, pools: pools, logger: logger)
        let dependencies = ControlServer.Dependencies(configuration: configuration, store: store, registry: registry, status: status,
                                                      notifier: notifier, prometheus: prometheus, processor: processor, pools: pools)
        let server = ControlServer.application(dependencies, logger: logger) {
            do { try Self.secureSocket(configuration) } catch {
                // Serving a socket the lab's group cannot use (or anyone can) is worse than not starting.
                logger.critical("cannot secure the control socket; stopping", metadata: ["error": "\(error)"])
                kill(getpid(), SIGTERM)
                return
            }
            if status.markReady(listening: true) { await processor.announceReady() }
        }
        let reloader = SignalReloader(dependencies: dependencies, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: processor), .init(service: server), .init(service: reloader)]
        if let address = configuration.httpListen {
            services.append(.init(service: ControlServer.webApplication(dependencies, address: address, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        unlink(configuration.socket)
        await pools.shutdown()
        logger.info("stopped")
    }

    /// Removes a stale socket file, or refuses to start when anything listens on it. Stale means
    /// `connect(2)` is refused (no listener); a daemon that is alive but busy, or a socket this user
    /// may not open, is not stale, and stays.
    static func claimSocketPath(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw DaemonError("claim socket", path: path, detail: "something other than a socket is there; move it or give this one --socket")
        }
        switch ControlClient.probe(path) {
        case 0:
            throw DaemonError("claim socket", path: path, detail: "another unetd is already listening there; stop it or give this one --socket")
        case ECONNREFUSED:
            guard unlink(path) == 0 || errno == ENOENT else { throw DaemonError.system("remove stale socket", path: path) }
        case let code:
            throw DaemonError("claim socket", path: path, errorNumber: code,
                              detail: "cannot tell whether a daemon listens there; it is left alone")
        }
    }

    /// Socket mode (default 0660) and group, so only the lab's group can drive the daemon. The group
    /// was checked at start (`DaemonConfiguration.validate`); a failing chmod/chown is an error.
    static func secureSocket(_ configuration: DaemonConfiguration) throws(DaemonError) {
        guard chmod(configuration.socket, mode_t(configuration.socketMode)) == 0 else {
            throw .system("chmod \(String(configuration.socketMode, radix: 8))", path: configuration.socket)
        }
        guard let name = configuration.socketGroup else { return }
        guard let group = getgrnam(name) else {
            throw DaemonError("chown", path: configuration.socket, detail: "socket_group '\(name)' does not exist")
        }
        guard chown(configuration.socket, uid_t.max, group.pointee.gr_gid) == 0 else {
            throw .system("chown to group \(name)", path: configuration.socket)
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
            _ = await dependencies.processor.reloadModel(trigger: .signal)
        }
    }
}
