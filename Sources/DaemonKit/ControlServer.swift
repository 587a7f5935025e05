import ControlProtocol
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus

/// HTTP/1.1 + JSON on the daemon's Unix socket (the way Docker and snapd expose theirs), served by
/// Hummingbird: `ControlController`'s routes, typed request and response bodies, request headers
/// limited (431 beyond 64 KiB). `POST /v1/reload` answers once the reload has finished (so
/// `ExecReload=unetctl reload` waits for it).
public enum ControlServer {
    public struct Dependencies: Sendable {
        public let configuration: DaemonConfiguration
        public let store: JobStore
        public let registry: ModelRegistry
        public let status: DaemonStatus
        public let notifier: SystemdNotifier
        public let prometheus: PrometheusCollectorRegistry
        public let processor: SlideProcessor
        /// The pool the requests' job-store reads run on (never the file pool, which may stall).
        public let database: BlockingPool
        /// The pool the web page's file reads run on (tiles, thumbnails, downloads).
        public let web: BlockingPool
        /// The viewer's open slides and masks.
        let deepZoom = DeepZoomCache()

        public init(configuration: DaemonConfiguration, store: JobStore, registry: ModelRegistry, status: DaemonStatus,
                    notifier: SystemdNotifier, prometheus: PrometheusCollectorRegistry, processor: SlideProcessor, pools: DaemonPools) {
            self.configuration = configuration
            self.store = store
            self.registry = registry
            self.status = status
            self.notifier = notifier
            self.prometheus = prometheus
            self.processor = processor
            database = pools.database
            web = pools.web
        }
    }

    /// Largest request header block accepted.
    public static let maximumHeaderBytes = 64 * 1024

    /// The router alone (what the in-process tests drive).
    public static func router(_ dependencies: Dependencies, logger: Logger) -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        ControlController(dependencies: dependencies, logger: logger).addRoutes(to: router)
        WebController(dependencies: dependencies).addRoutes(to: router)
        return router
    }

    /// The read-only routes and the web page, behind `http_token` when one is set: what `http_listen` serves.
    public static func webRouter(_ dependencies: Dependencies, logger: Logger) -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        if let token = dependencies.configuration.httpToken { router.add(middleware: WebTokenMiddleware(token: token)) }
        ControlController(dependencies: dependencies, logger: logger).addReadOnlyRoutes(to: router)
        WebController(dependencies: dependencies).addRoutes(to: router)
        return router
    }

    /// The control server on the Unix socket.
    public static func application(_ dependencies: Dependencies, logger: Logger, onRunning: @escaping @Sendable () async -> Void) -> some ApplicationProtocol {
        Application(router: router(dependencies, logger: logger), server: server,
                    configuration: .init(address: .unixDomainSocket(path: dependencies.configuration.socket), serverName: "unetd"),
                    onServerRunning: { _ in await onRunning() }, logger: logger)
    }

    /// The web page on TCP at `address` (`http_listen`).
    public static func webApplication(_ dependencies: Dependencies, address: WebListenAddress, logger: Logger) -> some ApplicationProtocol {
        Application(router: webRouter(dependencies, logger: logger), server: server,
                    configuration: .init(address: .hostname(address.host, port: address.port), serverName: "unetd"),
                    onServerRunning: { channel in
                        logger.notice("web page listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "\(address)")",
                                                                         "url": "\(address.url)"])
                    }, logger: logger)
    }

    /// HTTP/1.1 with request headers limited (431 beyond `maximumHeaderBytes`) and idle connections closed.
    private static var server: HTTPServerBuilder {
        .http1(configuration: .init(
            additionalChannelHandlers: [HeaderLimitHandler()], idleTimeout: .seconds(30),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: maximumHeaderBytes, maxHeaderListSize: maximumHeaderBytes)))
    }
}

/// JSON in and out with ISO 8601 dates and sorted keys, as `ControlCoding` defines them for both sides.
public struct ControlContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
    public var requestDecoder: JSONDecoder { ControlCoding.decoder() }
    public var responseEncoder: JSONEncoder { ControlCoding.encoder() }
    /// Control requests are small; nothing legitimate comes near this.
    public var maxUploadSize: Int { 64 * 1024 }
}

extension StatusResponse: ResponseEncodable {}
extension JobsResponse: ResponseEncodable {}
extension ReloadResponse: ResponseEncodable {}
extension RetryResponse: ResponseEncodable {}
extension ErrorResponse: ResponseEncodable {}
