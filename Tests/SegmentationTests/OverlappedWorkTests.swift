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

    /// The encoder must not take the engine's cores: its work runs at a lower priority, and the
    /// caller's thread (which goes on to run the engine) keeps its own.
    @Test func runsAtALowerPriorityOnAThreadOfItsOwn() throws {
        #if os(Linux)
        let callerNice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        for nice in [OverlappedWork.backgroundNice, 0] {
            let work = OverlappedWork(nice: nice)
            let seen = Mutex<Int32>(-100)
            work.start { seen.withLock { $0 = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) } }
            try work.join()
            #expect(seen.withLock { $0 } == min(callerNice + nice, 19))
        }
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == callerNice, "the caller's own priority is untouched")
        #endif
    }
}
