import ControlProtocol
@testable import DaemonKit
import Dispatch
import Foundation
import Synchronization
import Testing

/// A stalled file system (an NFS outbox gone quiet) holds up file work only: the control API still
/// answers, because job-store reads run on a pool of their own and nothing on the cooperative pool blocks.
/// Alone, the three requests answer in milliseconds; the test asserts that they answer while the stall
/// lasts, which holds however loaded the machine is.
@Suite struct StalledFileSystemTests {
    @Test func statusAnswersWhileEveryFileCallStalls() async throws {
        let gate = DispatchSemaphore(value: 0)
        let stalledCalls = Atomic<Int>(0), openedByDeadline = Atomic<Bool>(false)
        // Every file call waits at the gate until the test opens it, as on a mount that stopped answering.
        let files = BlockingPool(threads: 2) {
            stalledCalls.add(1, ordering: .sequentiallyConsistent)
            gate.wait()
            gate.signal()
        }
        // Were the requests to wait on the file pool, they would wait for ever: a deadline opens the gate and fails the test.
        // It is long because on one loaded core other suites' blocking waits can hold the cooperative pool for minutes.
        let deadline = Task {
            try await Task.sleep(for: .seconds(600))
            openedByDeadline.store(true, ordering: .sequentiallyConsistent)
            gate.signal()
        }
        try await ControlControllerTests.withRouter(files: files) { client, dependencies in
            var failed = Job(name: "f.tif", spoolPath: "/spool/f.tif", claimedFrom: "/in/f.tif", state: .failed)
            failed.destination = dependencies.configuration.failed + "/f.tif"
            _ = try dependencies.store.insert(failed)
            let processor = dependencies.processor
            // Both file threads busy: a retry checking failed/, and a storage fault measuring free space.
            let retry = Task { try await processor.retry(RetryRequest(name: "f.tif", allFailed: false)) }
            let fault = Task { await processor.storageFault(DeferredRetryTests.diskFull, during: "process a.tif") }
            while stalledCalls.load(ordering: .sequentiallyConsistent) < 2 { try await Task.sleep(for: .milliseconds(10)) }

            for uri in [ControlPath.status, ControlPath.jobs, ControlPath.jobs + "?state=failed"] {
                let started = ContinuousClock.now
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .ok) }
                let waitedForFiles = openedByDeadline.load(ordering: .sequentiallyConsistent)
                #expect(!waitedForFiles,
                        "\(uri) waited for the stalled file system (answered after \(ContinuousClock.now - started))")
            }
            deadline.cancel()
            gate.signal()
            _ = try await retry.value
            await fault.value
        }
    }
}
