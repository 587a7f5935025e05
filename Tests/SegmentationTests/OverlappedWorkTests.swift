import Dispatch
import Foundation
import Synchronization
import SlideIO
import Testing
@testable import Segmentation

/// The encoder thread `SlideSegmenter` overlaps with inference: it runs beside the caller, and its
/// failures come back at `join`, once.
@Suite struct OverlappedWorkTests {
    @Test func runsBesideTheCallerAndReportsItsErrorAtJoin() throws {
        let work = OverlappedWork()
        let callerWentOn = DispatchSemaphore(value: 0)
        // The work waits for the caller: it can only finish if `start` returned before it did.
        work.start { () throws(SlideError) in
            guard callerWentOn.wait(timeout: .now() + 30) == .success else { throw SlideError(path: "work", reason: "caller blocked") }
        }
        callerWentOn.signal()
        #expect(try work.join() >= 0)
        work.start { () throws(SlideError) in throw SlideError(path: "slide.tif", reason: "disk full") }
        #expect(throws: SlideError.self) { try work.join() }
        #expect(try work.join() >= 0, "an error is reported once")
    }

    /// The encoder must never preempt an engine worker: it runs in the idle class, and a fresh thread
    /// each time, so no pool thread that later runs the engine is left there.
    @Test func runsInTheIdleSchedulingClassOnAThreadOfItsOwn() throws {
        #if os(Linux)
        for idle in [true, false] {
            let work = OverlappedWork(idlePriority: idle)
            let policy = Mutex<Int32>(-1)
            work.start { policy.withLock { $0 = sched_getscheduler(0) } }
            try work.join()
            #expect(policy.withLock { $0 } == (idle ? OverlappedWork.idleSchedulingPolicy : SCHED_OTHER))
        }
        #expect(sched_getscheduler(0) == SCHED_OTHER, "the caller's own class is untouched")
        #endif
    }
}
