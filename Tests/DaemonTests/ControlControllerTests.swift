import ControlProtocol
import DaemonKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import TestSupport
import Testing

/// The control API in process, through Hummingbird's test client: typed responses and 4xx answers,
/// without a socket or a daemon process.
@Suite struct ControlControllerTests {
    static func withRouter(_ body: @escaping @Sendable (any TestClientProtocol, ControlServer.Dependencies) async throws -> Void) async throws {
        let root = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let configuration = DaemonConfiguration(root: root)
        try Spool(configuration: configuration).prepareDirectories()
        let io = BlockingPool(threads: 1), compute = BlockingPool(threads: 1)
        let logger = Logger(label: "test")
        let registry = try ModelRegistry(path: DaemonHarness.model, threads: 1, io: io)
        let store = try JobStore(path: configuration.database)
        let status = DaemonStatus(), notifier = SystemdNotifier()
        let processor = SlideProcessor(configuration: configuration, store: store, registry: registry, status: status,
                                       notifier: notifier, io: io, compute: compute, logger: logger)
        let dependencies = ControlServer.Dependencies(configuration: configuration, store: store, registry: registry, status: status,
                                                      notifier: notifier, prometheus: PrometheusCollectorRegistry(),
                                                      processor: processor, io: io)
        let app = Application(router: ControlServer.router(dependencies, logger: logger))
        try await app.test(TestingSetup.router) { client in try await body(client, dependencies) }
        await io.shutdown()
        await compute.shutdown()
    }

    @Test func statusAndJobsAreTyped() async throws {
        try await Self.withRouter { client, dependencies in
            _ = try dependencies.store.insert(Job(name: "a.tif", spoolPath: "/x/a.tif", claimedFrom: "/in/a.tif", state: .queued))
            try await client.execute(uri: ControlPath.status, method: .get) { response in
                #expect(response.status == .ok)
                let status = try ControlCoding.decoder().decode(StatusResponse.self, from: Data(buffer: response.body))
                #expect(status.state == .running && status.queue.pending == 1 && status.degraded == nil)
            }
            dependencies.status.degraded = DegradedReason(reason: "disk full", freeBytes: 0, since: Date(), retryAt: nil)
            try await client.execute(uri: ControlPath.status, method: .get) { response in
                let status = try ControlCoding.decoder().decode(StatusResponse.self, from: Data(buffer: response.body))
                #expect(status.state == .degraded && status.degraded?.reason == "disk full")
            }
            try await client.execute(uri: ControlPath.jobs + "?state=queued", method: .get) { response in
                let jobs = try ControlCoding.decoder().decode(JobsResponse.self, from: Data(buffer: response.body))
                #expect(jobs.jobs.map(\.name) == ["a.tif"] && jobs.jobs[0].state == .queued)
            }
            try await client.execute(uri: ControlPath.jobs + "?state=failed", method: .get) { response in
                let jobs = try ControlCoding.decoder().decode(JobsResponse.self, from: Data(buffer: response.body))
                #expect(jobs.jobs.isEmpty)
            }
        }
    }

    @Test func badRequestsGet4xx() async throws {
        try await Self.withRouter { client, _ in
            try await client.execute(uri: ControlPath.jobs + "?state=lost", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: ControlPath.retry, method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .badRequest) }
            try await client.execute(uri: ControlPath.reload, method: .post, body: ByteBuffer(string: "{not json")) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/v1/nothing", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: ControlPath.reload, method: .post,
                                     body: ByteBuffer(string: "{\"model\": \"/nonexistent/model.pth\"}")) { response in
                #expect(response.status == .unprocessableContent)
                let reload = try ControlCoding.decoder().decode(ReloadResponse.self, from: Data(buffer: response.body))
                #expect(!reload.ok && reload.error?.contains("/nonexistent/model.pth") == true)
            }
        }
    }
}
