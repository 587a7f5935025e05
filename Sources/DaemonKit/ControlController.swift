import ControlProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The control API's routes. Handlers only read state or hand work to the processor; database
/// reads run on the I/O pool, never on the event loop.
struct ControlController {
    let dependencies: ControlServer.Dependencies
    let logger: Logger

    /// Every route: what the Unix socket serves.
    func addRoutes(to router: Router<ControlContext>) {
        addReadOnlyRoutes(to: router)
        router.post(.init(stringLiteral: ControlPath.reload)) { request, context in try await reload(request, context) }
        router.post(.init(stringLiteral: ControlPath.pause)) { _, _ in
            dependencies.status.paused = true
            return try await status()
        }
        router.post(.init(stringLiteral: ControlPath.resume)) { _, _ in
            dependencies.status.paused = false
            dependencies.processor.nudge()
            return try await status()
        }
        router.post(.init(stringLiteral: ControlPath.retry)) { request, context in try await retry(request, context) }
    }

    /// The routes that change nothing: all that the TCP listener (`http_listen`) serves besides the page.
    func addReadOnlyRoutes(to router: Router<ControlContext>) {
        router.get(.init(stringLiteral: ControlPath.status)) { _, _ in try await status() }
        router.get(.init(stringLiteral: ControlPath.jobs)) { request, _ in try await jobs(request) }
        router.get(.init(stringLiteral: ControlPath.metrics)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: dependencies.prometheus.emitToBuffer())))
        }
    }

    func status() async throws -> StatusResponse {
        let store = dependencies.store
        let counts = try await dependencies.database.run { try store.counts() }
        let d = dependencies
        return StatusResponse(state: d.status.daemonState, degraded: d.status.degraded, model: await d.registry.current.status,
                              queue: .init(pending: counts.pending, deferred: counts.deferred),
                              counts: .init(done: counts.done, failed: counts.failed, nuclei: counts.nuclei), slides: d.status.slides,
                              lastReload: await d.registry.lastReload, inbox: d.configuration.inbox, pid: getpid(),
                              node: d.configuration.nodeName, workers: d.configuration.workers)
    }

    /// `?limit=N` (1–1000, default 50) and `?state=failed|deferred|...`.
    func jobs(_ request: Request) async throws -> EditedResponse<JobsResponse> {
        let limit = min(max(Int(request.uri.queryParameters.get("limit") ?? "") ?? 50, 1), 1000)
        var state: JobState?
        if let text = request.uri.queryParameters.get("state") {
            guard let parsed = JobState(rawValue: text) else {
                throw HTTPError(.badRequest, message: "state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            state = parsed
        }
        let store = dependencies.store, filter = state
        return EditedResponse(response: JobsResponse(jobs: try await dependencies.database.run { try store.recent(limit: limit, state: filter) }))
    }

    func reload(_ request: Request, _ context: ControlContext) async throws -> EditedResponse<ReloadResponse> {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        var path: String?
        if body.readableBytes > 0 {
            guard let decoded = try? ControlCoding.decoder().decode(ReloadRequest.self, from: Data(body.readableBytesView)) else {
                throw HTTPError(.badRequest, message: "body must be JSON like {\"model\": \"/path/model.safetensors\"}")
            }
            path = decoded.model
        }
        let response = await dependencies.processor.reloadModel(path: path, trigger: .socket)
        return EditedResponse(status: response.ok ? .ok : .unprocessableContent, response: response)
    }

    func retry(_ request: Request, _ context: ControlContext) async throws -> RetryResponse {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        guard let retry = try? ControlCoding.decoder().decode(RetryRequest.self, from: Data(body.readableBytesView)),
              retry.allFailed || retry.name?.isEmpty == false else {
            throw HTTPError(.badRequest, message: "body must be JSON like {\"name\": \"NAME.tif\"} or {\"all_failed\": true}")
        }
        return try await dependencies.processor.retry(retry)
    }
}
