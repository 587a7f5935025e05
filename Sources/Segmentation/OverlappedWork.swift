import Dispatch
import Foundation
import SlideIO
import Synchronization

/// One piece of work at a time run on its own thread while the caller goes on: a slide's finished rows
/// are encoded while the engine infers the next row of tiles, filling the core that encoding alone
/// would leave idle. The caller hands over state only between `start` and `join`, and touches it
/// again only after `join`, so the two threads never share it at once.
///
/// The thread runs at nice 10 (`backgroundNice`): on a core it shares with an engine worker it gets
/// about a tenth of the time (weight 110 against 1024), so it does its work mostly in the gaps the
/// engine leaves (between layers, during a tile's serial steps) and barely slows the workers. When the
/// caller reaches `join` before the work is done, the caller's core falls idle and the work finishes
/// there. Not the idle class (`SCHED_IDLE`, measured no faster): that gets 0.3% of a core against
/// any ordinary thread, so on a host busy with other work a slide's encoding would all but stop.
final class OverlappedWork {
    private let group = DispatchGroup()
    private var running = false
    /// The error the work threw (not yet reported) and the CPU seconds all work took.
    private let outcome = Outcome()
    /// The nice value the work runs at (0: the caller's priority).
    let nice: Int32

    /// How far below the engine the work runs by default.
    static let backgroundNice: Int32 = 10

    init(nice: Int32 = backgroundNice) {
        self.nice = nice
    }

    /// Starts `body` on another thread; call `join` before starting again.
    func start(_ body: @escaping () throws(SlideError) -> Void) {
        precondition(!running, "join the previous work first")
        running = true
        group.enter()
        let work = Handoff(body: body)
        // A thread of its own, not one of Dispatch's shared pool: an unprivileged thread cannot raise
        // its priority again, and a pool thread must not carry the lower one into the engine's next layer.
        let thread = Thread { [group, outcome, nice] in
            Self.lowerCallingThreadPriority(by: nice)
            let start = Self.threadCPUSeconds()
            let failure = work.runOnce()
            let seconds = Self.threadCPUSeconds() - start
            outcome.state.withLock { $0.seconds += seconds; $0.error = $0.error ?? failure }
            group.leave()
        }
        thread.start()
    }

    /// Waits for the running work, if any; rethrows its error once. Returns the CPU seconds all work
    /// took so far: the work's own cost, not the time it waited for a core.
    @discardableResult
    func join() throws(SlideError) -> Double {
        if running {
            group.wait()
            running = false
        }
        let (error, seconds) = outcome.state.withLock { state in
            defer { state.error = nil }
            return (state.error, state.seconds)
        }
        if let error { throw error }
        return seconds
    }

    /// CPU seconds the calling thread has run (`CLOCK_THREAD_CPUTIME_ID`). Work at a lower priority can
    /// wait long for a core, so its wall time would say little about what it cost.
    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Lowers the calling thread's priority by `nice` steps, down to 19 at most (on Linux, who = 0 means
    /// the calling thread alone); where the kernel refuses, the work simply runs at the caller's priority.
    private static func lowerCallingThreadPriority(by nice: Int32) {
        #if os(Linux)
        guard nice > 0 else { return }
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        _ = setpriority(which, 0, min(getpriority(which, 0) + nice, 19))
        #endif
    }

    private final class Outcome: Sendable {
        let state = Mutex<(error: SlideError?, seconds: Double)>((nil, 0))
    }

    /// Carries the closure to the worker thread. It captures the caller's state, which the caller
    /// leaves alone until `join` has waited for the closure to finish (what makes `@unchecked` safe:
    /// `body` is touched by one thread at a time, the `DispatchGroup` ordering the two).
    private final class Handoff: @unchecked Sendable {
        private var body: (() throws(SlideError) -> Void)?
        init(body: @escaping () throws(SlideError) -> Void) { self.body = body }

        /// Runs the body and lets go of it (and of all it captured) before returning, so that once `join`
        /// returns the caller holds the only references. Released later, with the thread, a slide's
        /// output writers outlived a daemon that exited right after a cancelled slide, and their
        /// temporary files stayed in the outbox.
        func runOnce() -> SlideError? {
            guard let body else { return nil }
            self.body = nil
            do throws(SlideError) { try body() } catch { return error }
            return nil
        }
    }
}
