import ControlProtocol
@testable import DaemonKit
import Foundation
import Logging
import SlideIO
import TestSupport
import Testing
import UNetCore
#if canImport(Glibc)
import Glibc
#endif

/// A slide deferred by a storage fault always has a retry coming, whatever else happens meanwhile
/// (another worker's slide going through, a retry asked for, the backoff running out).
@Suite struct DeferredRetryTests {
    /// The daemon's parts in process, as the control API's tests assemble them.
    static func withProcessor(_ body: @escaping @Sendable (SlideProcessor, JobStore, DaemonStatus) async throws -> Void) async throws {
        try await ControlControllerTests.withRouter { _, dependencies in
            try await body(dependencies.processor, dependencies.store, dependencies.status)
        }
    }

    static let diskFull = SlideError(path: "/outbox/x.mask.png", reason: "No space left on device", errorNumber: ENOSPC)

    /// Two workers: A's slide is deferred by ENOSPC, B's goes through and clears `degraded`. A's must go back in the queue.
    @Test func anotherWorkersSuccessRequeuesTheDeferredSlide() async throws {
        try await Self.withProcessor { processor, store, status in
            let a = try store.insert(Job(name: "a.tif", spoolPath: "/spool/a.tif", claimedFrom: "/in/a.tif", state: .active))
            await processor.deferJob(a.storedID, reason: "\(Self.diskFull)")
            await processor.storageFault(Self.diskFull, during: "process a.tif")
            let deferred = try store.jobs(in: [.deferred])
            #expect(status.degraded?.retryAt != nil && deferred.count == 1)
            await processor.storageRecovered()  // worker B's slide finished
            #expect(status.degraded == nil)
            let (stillDeferred, queued) = (try store.jobs(in: [.deferred]), try store.jobs(in: [.queued]))
            #expect(stillDeferred.isEmpty && queued.map(\.name) == ["a.tif"])
        }
    }

    /// `unetctl retry` of a deferred slide while nothing is degraded requeues it, and says so only then.
    @Test func retryOfADeferredSlideWithNothingDegradedRequeuesIt() async throws {
        try await Self.withProcessor { processor, store, status in
            _ = try store.insert(Job(name: "a.tif", spoolPath: "/spool/a.tif", claimedFrom: "/in/a.tif", state: .deferred))
            #expect(status.degraded == nil)
            let answer = try await processor.retry(RetryRequest(name: "a.tif", allFailed: false))
            #expect(answer.requeued == ["a.tif"])
            #expect(try store.jobs(in: [.queued]).map(\.name) == ["a.tif"])
            let none = try await processor.retry(RetryRequest(name: "b.tif", allFailed: false))
            #expect(none.requeued.isEmpty)
        }
    }

    /// Whatever the interleaving of faults, deferrals, successes, retries and due backoffs, every
    /// deferred job has a retry scheduled (degraded with a retry time), so none waits for ever.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func everyDeferredJobHasARetryWhateverTheInterleaving(seed: UInt64) async throws {
        try await Self.withProcessor { processor, store, status in
            var generator = SeededGenerator(seed: seed)
            var names = 0
            for step in 0..<40 {
                switch Int.random(in: 0..<5, using: &generator) {
                case 0:  // a worker's slide hits ENOSPC
                    names += 1
                    let job = try store.insert(Job(name: "s\(names).tif", spoolPath: "/spool/s\(names).tif", claimedFrom: "/in/s\(names).tif", state: .active))
                    await processor.deferJob(job.storedID, reason: "\(Self.diskFull)")
                    await processor.storageFault(Self.diskFull, during: "process s\(names).tif")
                case 1: await processor.storageRecovered()  // another worker's slide went through
                case 2:  // the backoff ran out
                    if status.degraded != nil { status.degraded?.retryAt = Date.distantPast }
                    await processor.retryAfterStorageFaultIfDue()
                case 3: _ = try await processor.retry(RetryRequest(name: nil, allFailed: true))
                default:  // the queue ran a requeued slide and it was deferred again
                    if let queued = try store.jobs(in: [.queued]).first {
                        await processor.deferJob(queued.storedID, reason: "\(Self.diskFull)")
                        await processor.storageFault(Self.diskFull, during: "process \(queued.name)")
                    }
                }
                let deferred = try store.jobs(in: [.deferred])
                #expect(deferred.isEmpty || status.degraded?.retryAt != nil,
                        "seed \(seed), step \(step): \(deferred.map(\.name)) deferred with no retry scheduled")
            }
        }
    }
}
