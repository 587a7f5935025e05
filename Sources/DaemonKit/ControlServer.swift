import ControlProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// HTTP/1.1 + JSON on the daemon's Unix socket (the way Docker and snapd expose theirs), served by
/// Hummingbird. Reads state, never blocks the pipeline; `POST /v1/reload` answers once the reload has
/// finished (so `ExecReload=unetctl reload` waits for it).
public enum ControlServer {
    public struct Dependencies: Sendable {
        public let configuration: DaemonConfiguration
        public let store: JobStore
        public let registry: ModelRegistry
        public let status: DaemonStatus
        public let notifier: SystemdNotifier
        public let prometheus: PrometheusCollectorRegistry
        public let nudge: @Sendable () -> Void
    }

    public static func application(_ dependencies: Dependencies, logger: Logger, onRunning: @escaping @Sendable () async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let d = dependencies
        router.get(.init(stringLiteral: ControlPath.status)) { _, _ in try await json(status(d)) }
        router.get(.init(stringLiteral: ControlPath.jobs)) { request, _ in
            let limit = min(max(Int(request.uri.queryParameters.get("limit") ?? "") ?? 50, 1), 1000)
            return try json(JobsResponse(jobs: try d.store.recent(limit: limit)))
        }
        router.post(.init(stringLiteral: ControlPath.reload)) { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            var reload = ReloadRequest(model: nil)
            if body.readableBytes > 0 {
                guard let decoded = try? ControlCoding.decoder().decode(ReloadRequest.self, from: Data(body.readableBytesView)) else {
                    return try json(ErrorResponse(error: "body must be JSON like {\"model\": \"/path/model.safetensors\"}"), status: .badRequest)
                }
                reload = decoded
            }
            return try await performReload(d, path: reload.model, logger: logger)
        }
        router.post(.init(stringLiteral: ControlPath.pause)) { _, _ in
            d.status.paused = true
            return try await json(status(d))
        }
        router.post(.init(stringLiteral: ControlPath.resume)) { _, _ in
            d.status.paused = false
            d.nudge()
            return try await json(status(d))
        }
        router.get(.init(stringLiteral: ControlPath.metrics)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: d.prometheus.emitToBuffer())))
        }
        return Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .unixDomainSocket(path: d.configuration.socket), serverName: "unetd"),
            onServerRunning: { _ in await onRunning() },
            logger: logger)
    }

    /// Reloads with systemd's RELOADING=1 … READY=1 around it; 200 with the new model, or 422 with the
    /// reason and the model still serving.
    static func performReload(_ d: Dependencies, path: String?, logger: Logger) async throws -> Response {
        d.notifier.reloading()
        let error = await d.registry.reload(path: path)
        let model = await d.registry.current
        d.notifier.ready(status: error == nil ? "model \(model.file.sha256.prefix(12))" : "reload refused; model \(model.file.sha256.prefix(12))")
        if let error {
            logger.error("reload refused; the previous model keeps serving", metadata: ["error": "\(error)"])
        } else {
            logger.notice("model reloaded", metadata: ["model": "\(model.file.path)", "sha256": "\(model.file.sha256)"])
        }
        return try json(ReloadResponse(ok: error == nil, model: model.status, error: error), status: error == nil ? .ok : .unprocessableContent)
    }

    static func status(_ d: Dependencies) async throws -> StatusResponse {
        let counts = try d.store.counts()
        return StatusResponse(state: d.status.paused ? "paused" : "running", model: await d.registry.current.status,
                              queue: .init(pending: counts.pending), counts: .init(done: counts.done, failed: counts.failed),
                              current: d.status.current, lastReload: await d.registry.lastReload,
                              inbox: d.configuration.inbox, pid: getpid())
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try ControlCoding.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
