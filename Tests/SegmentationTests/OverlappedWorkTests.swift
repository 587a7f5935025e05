import Dispatch
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
}
