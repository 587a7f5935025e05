import Dispatch
import Foundation
import SlideIO
import Synchronization

/// One piece of work at a time run on its own thread while the caller goes on: a slide's finished rows
/// are encoded while the engine infers the next row of tiles, filling the core that encoding alone
/// would leave idle. The caller hands over state only between `start` and `join`, and touches it
/// again only after `join`, so the two threads never share it at once.
///
/// The thread runs in Linux's idle scheduling class (`SCHED_IDLE`): it gets a core only when no
/// ordinary thread wants it, that is in the gaps the engine leaves (between layers, during a tile's
/// serial steps), and never preempts an engine worker. When the caller reaches `join` before the work is
/// done, the caller's own core falls idle and the work finishes there. The daemon's several workers
/// lose nothing either: a worker's encoding then waits for a free core instead of taking one.
final class OverlappedWork {
    private let group = DispatchGroup()
    private var running = false
    /// The error the work threw (not yet reported) and the CPU seconds all work took.
    private let outcome = Outcome()
    /// Whether the work runs at idle priority (tests compare both).
    let idlePriority: Bool

    init(idlePriority: Bool = true) {
        self.idlePriority = idlePriority
    }

    /// Starts `body` on another thread; call `join` before starting again.
    func start(_ body: @escaping () throws(SlideError) -> Void) {
        precondition(!running, "join the previous work first")
        running = true
        group.enter()
        let work = Handoff(body: body)
        // A thread of its own, not one of Dispatch's shared pool: an unprivileged thread cannot leave
        // the idle class again, and a pool thread must not carry it into the engine's next layer.
        let thread = Thread { [group, outcome, idlePriority] in
            if idlePriority { Self.enterIdleSchedulingClass() }
            let start = Self.threadCPUSeconds()
            var failure: SlideError?
            do throws(SlideError) { try work.body() } catch { failure = error }
            let seconds = Self.threadCPUSeconds() - start
            outcome.state.withLock { $0.seconds += seconds; $0.error = $0.error ?? failure }
            group.leave()
        }
        thread.start()
    }

    /// Waits for the running work, if any; rethrows its error once. Returns the CPU seconds all work
    /// took so far: the work's own cost, not the time it waited for an idle core.
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

    /// CPU seconds the calling thread has run (`CLOCK_THREAD_CPUTIME_ID`). Work in the idle class can
    /// wait long for a core, so its wall time would say little about what it cost.
    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Linux's `SCHED_IDLE` policy number (stable ABI; Glibc's Swift overlay does not export the name).
    static let idleSchedulingPolicy: Int32 = 5

    /// Puts the calling thread (pid 0: this thread only) in the idle class; where the kernel refuses,
    /// the work simply runs at normal priority.
    private static func enterIdleSchedulingClass() {
        #if os(Linux)
        var parameters = sched_param()
        _ = sched_setscheduler(0, idleSchedulingPolicy, &parameters)
        #endif
    }

    private final class Outcome: Sendable {
        let state = Mutex<(error: SlideError?, seconds: Double)>((nil, 0))
    }

    /// Carries the closure to the worker thread. It captures the caller's state, which the caller
    /// leaves alone until `join` has waited for the closure to finish.
    private struct Handoff: @unchecked Sendable {
        let body: () throws(SlideError) -> Void
    }
}
