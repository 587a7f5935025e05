import Dispatch
import SlideIO
import Synchronization

/// One piece of work at a time run on its own thread while the caller goes on: a slide's finished rows
/// are encoded while the engine infers the next row of tiles, filling the core that encoding alone
/// would leave idle. The caller hands over state only between `start` and `join`, and touches it
/// again only after `join`, so the two threads never share it at once.
final class OverlappedWork {
    private let group = DispatchGroup()
    private var running = false
    /// The error the work threw (not yet reported) and the seconds all work took.
    private let outcome = Outcome()

    /// Starts `body` on another thread; call `join` before starting again.
    func start(_ body: @escaping () throws(SlideError) -> Void) {
        precondition(!running, "join the previous work first")
        running = true
        group.enter()
        let work = Handoff(body: body)
        DispatchQueue.global(qos: .userInitiated).async { [group, outcome] in
            let start = ContinuousClock.now
            var failure: SlideError?
            do throws(SlideError) { try work.body() } catch { failure = error }
            let seconds = (ContinuousClock.now - start).seconds
            outcome.state.withLock { $0.seconds += seconds; $0.error = $0.error ?? failure }
            group.leave()
        }
    }

    /// Waits for the running work, if any; rethrows its error once. Returns the seconds all work took so far.
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

    private final class Outcome: Sendable {
        let state = Mutex<(error: SlideError?, seconds: Double)>((nil, 0))
    }

    /// Carries the closure to the worker thread. It captures the caller's state, which the caller
    /// leaves alone until `join` has waited for the closure to finish.
    private struct Handoff: @unchecked Sendable {
        let body: () throws(SlideError) -> Void
    }
}
