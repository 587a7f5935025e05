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

    /// What the work captured is let go by the time `join` returns, not whenever its thread ends: a
    /// slide's output writers remove their temporary files as they go, and a daemon that exits right
    /// after a cancelled slide must not leave them behind.
    @Test func theWorksCapturesAreReleasedByJoin() throws {
        final class Flag: Sendable { let released = Mutex(false) }
        final class Captured: Sendable {
            let flag: Flag
            init(_ flag: Flag) { self.flag = flag }
            deinit { flag.released.withLock { $0 = true } }
        }
        for _ in 0..<20 {
            let flag = Flag(), work = OverlappedWork()
            do {
                let captured = Captured(flag)  // ends here: only the work holds it now
                work.start { withExtendedLifetime(captured) {} }
            }
            try work.join()
            #expect(flag.released.withLock { $0 }, "released only after join returned")
        }
    }
}
