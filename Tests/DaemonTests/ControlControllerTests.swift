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
    /// The daemon's parts assembled in process around a router; `files` replaces the file pool (a stalling one).
    /// `root` holds the daemon's directories (a fresh temporary one, removed afterwards, when nil);
    /// `configure` edits the configuration, `router` picks the routes (the socket's, or `webRouter`).
    static func withRouter(root: String? = nil, files: BlockingPool = BlockingPool(threads: 1),
                           configure: (inout DaemonConfiguration) -> Void = { _ in },
                           router: (ControlServer.Dependencies, Logger) -> Router<ControlContext> = ControlServer.router,
                           _ body: @escaping @Sendable (any TestClientProtocol, ControlServer.Dependencies) async throws -> Void) async throws {
        let root = try root ?? Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: root) }
        var configuration = DaemonConfiguration(root: root)
        configure(&configuration)
        try Spool(configuration: configuration).prepareDirectories()
        let pools = DaemonPools(database: BlockingPool(threads: 1), files: files, compute: BlockingPool(threads: 1))
        let logger = Logger(label: "test")
        let registry = try ModelRegistry(path: DaemonHarness.model, threads: 1, io: files)
        let store = try JobStore(path: configuration.database)
        let status = DaemonStatus(), notifier = SystemdNotifier()
        let processor = SlideProcessor(configuration: configuration, store: store, registry: registry, status: status,
                                       notifier: notifier, pools: pools, logger: logger)
        let dependencies = ControlServer.Dependencies(configuration: configuration, store: store, registry: registry, status: status,
                                                      notifier: notifier, prometheus: PrometheusCollectorRegistry(),
                                                      processor: processor, pools: pools)
        let app = Application(router: router(dependencies, logger))
        try await app.test(TestingSetup.router) { client in try await body(client, dependencies) }
        await pools.shutdown()
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

    static func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
        try ControlCoding.decoder().decode(type, from: Data(buffer: response.body))
    }

    /// Every route in process: jobs under each filter and a limit, pause and resume, retry's answers,
    /// a reload that succeeds, and `/metrics` in the Prometheus text format.
    @Test func everyRouteAnswersInProcess() async throws {
        try await Self.withRouter { client, dependencies in
            let store = dependencies.store
            _ = try store.insert(Job(name: "q.tif", spoolPath: "/x/q.tif", claimedFrom: "/in/q.tif", state: .queued))
            _ = try store.insert(Job(name: "d.tif", spoolPath: "/x/d.tif", claimedFrom: "/in/d.tif", state: .deferred))
            _ = try store.insert(Job(name: "f.tif", spoolPath: "/x/f.tif", claimedFrom: "/in/f.tif", state: .failed))
            _ = try store.insert(Job(name: "a.tif", spoolPath: "/x/a.tif", claimedFrom: "/in/a.tif", state: .archived))
            for (filter, expected) in [("", ["a.tif", "f.tif", "d.tif", "q.tif"]), ("?state=queued", ["q.tif"]), ("?state=deferred", ["d.tif"]),
                                       ("?state=failed", ["f.tif"]), ("?state=archived", ["a.tif"]), ("?limit=1", ["a.tif"])] {
                try await client.execute(uri: ControlPath.jobs + filter, method: .get) { response in
                    let names = try Self.decode(JobsResponse.self, response).jobs.map(\.name)
                    #expect(names == expected, "\(filter)")
                }
            }
            try await client.execute(uri: ControlPath.pause, method: .post) { response in
                let state = try Self.decode(StatusResponse.self, response).state
                #expect(state == .paused)
            }
            try await client.execute(uri: ControlPath.resume, method: .post) { response in
                let state = try Self.decode(StatusResponse.self, response).state
                #expect(state == .running)
            }
            // Retry: an unknown name requeues nothing; a deferred slide is requeued (nothing degraded) and named.
            try await client.execute(uri: ControlPath.retry, method: .post, body: ByteBuffer(string: "{\"name\": \"nobody.tif\", \"all_failed\": false}")) { response in
                let requeued = try Self.decode(RetryResponse.self, response).requeued
                #expect(response.status == .ok && requeued.isEmpty)
            }
            try await client.execute(uri: ControlPath.retry, method: .post, body: ByteBuffer(string: "{\"name\": \"d.tif\", \"all_failed\": false}")) { response in
                let requeued = try Self.decode(RetryResponse.self, response).requeued
                #expect(requeued == ["d.tif"])
            }
            let deferred = try store.jobs(in: [.deferred])
            #expect(deferred.isEmpty)
            try await client.execute(uri: ControlPath.reload, method: .post,
                                     body: ByteBuffer(string: "{\"model\": \"\(DaemonHarness.model)\"}")) { response in
                let reload = try Self.decode(ReloadResponse.self, response)
                #expect(response.status == .ok && reload.ok)
            }
            PrometheusMetricsFactory(registry: dependencies.prometheus)
                .makeCounter(label: "unetd_nuclei_total", dimensions: [("node", "test")]).increment(by: 365)
            try await client.execute(uri: ControlPath.metrics, method: .get) { response in
                let text = String(buffer: response.body)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(text.contains("# TYPE unetd_nuclei_total counter") && text.contains("unetd_nuclei_total{node=\"test\"} 365"), "\(text)")
                // Prometheus text exposition: comments (# HELP / # TYPE) or `name{labels} value`.
                let sample = try Regex(#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$"#)
                for line in text.split(separator: "\n") where !line.hasPrefix("# ") {
                    #expect(String(line).wholeMatch(of: sample) != nil, "not Prometheus text: \(line)")
                }
            }
        }
    }
}
