// libFuzzer harness: the control API's request handling in process (scripts/fuzz.sh control).
// Input: "METHOD TARGET\n" then the body, bytes as they come; the request goes through the same
// router unetd serves (status, jobs with their query parameters, pause, resume, retry, metrics) over
// a real job database and model. POST /v1/reload runs for real (load, check, test inference, swap),
// with the model named by its last path component in the harness's own folder: `a` a valid width-4
// U-Net (also the configured model, which a body-less reload loads again), `b` one with a NaN weight
// (refused after loading), anything else missing; so the fuzzer cannot make it read arbitrary files. Run from the repository
// root (scripts/fuzz.sh does), where the two models are copied from Tests/Fixtures/engine.
import ControlProtocol
import DaemonKit
import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Prometheus

let harness: (responder: RouterResponder<ControlContext>, logger: Logger, channel: EmbeddedChannel, models: String) = {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-control-\(getpid())").path
    let configuration = DaemonConfiguration(root: root)
    try! Spool(configuration: configuration).prepareDirectories()
    let models = root + "/models"
    try! FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
    try! FileManager.default.copyItem(atPath: "Tests/Fixtures/engine/ref_bilinear_c1_bias.pth", toPath: models + "/a")
    try! FileManager.default.copyItem(atPath: "Tests/Fixtures/engine/bad/nan_weight.pth", toPath: models + "/b")
    let pools = DaemonPools(database: BlockingPool(threads: 1), files: BlockingPool(threads: 1), compute: BlockingPool(threads: 1))
    var logger = Logger(label: "fuzz")
    logger.logLevel = .critical
    let registry = try! ModelRegistry(path: models + "/a", threads: 1, io: pools.files)
    let store = try! JobStore(path: configuration.database)
    _ = try! store.insert(Job(name: "a.tif", spoolPath: root + "/state/spool/a.tif", claimedFrom: root + "/inbox/a.tif", state: .failed))
    let status = DaemonStatus(), notifier = SystemdNotifier()
    let processor = SlideProcessor(configuration: configuration, store: store, registry: registry, status: status,
                                   notifier: notifier, pools: pools, logger: logger)
    let dependencies = ControlServer.Dependencies(configuration: configuration, store: store, registry: registry, status: status,
                                                  notifier: notifier, prometheus: PrometheusCollectorRegistry(),
                                                  processor: processor, pools: pools)
    // One channel for every request: a request context only needs one to name, and an EmbeddedChannel
    // per input would leak its pipeline cycle unless closed.
    return (ControlServer.router(dependencies, logger: logger).buildResponder(), logger, EmbeddedChannel(), models)
}()

/// Builds the router, database and thread pools once, before the first input, so that their
/// lifetime allocations are not counted against any input.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    _ = harness.responder
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
    let line = String(decoding: bytes[..<lineEnd], as: UTF8.self).split(separator: " ", maxSplits: 1)
    guard line.count == 2, let method = HTTPRequest.Method(String(line[0])) else { return 0 }
    let target = String(line[1])
    var body = ByteBuffer(bytes: bytes[min(lineEnd + 1, bytes.endIndex)...])
    if target.hasPrefix(ControlPath.reload), method == .post,
       let reload = try? ControlCoding.decoder().decode(ReloadRequest.self, from: Data(buffer: body)) {
        let confined = ReloadRequest(model: reload.model.map { harness.models + "/" + URL(fileURLWithPath: $0).lastPathComponent })
        body = ByteBuffer(data: try! ControlCoding.encoder().encode(confined))
    }
    let request = Request(head: HTTPRequest(method: method, scheme: "http", authority: "unetd", path: target),
                          body: RequestBody(buffer: body))
    let done = DispatchSemaphore(value: 0)
    Task {
        let context = ControlContext(source: ApplicationRequestContextSource(channel: harness.channel, logger: harness.logger))
        if let response = try? await harness.responder.respond(to: request, context: context) {
            // Read the whole body, as a client would.
            _ = try? await response.body.write(CollectingWriter())
        }
        done.signal()
    }
    done.wait()
    return 0
}

/// A response body writer that keeps the bytes (and drops them).
struct CollectingWriter: ResponseBodyWriter {
    var bytes = 0
    mutating func write(_ buffer: ByteBuffer) async throws { bytes += buffer.readableBytes }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
