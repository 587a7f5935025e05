import Dispatch
import SlideIO

/// One piece of work at a time run on its own thread while the caller goes on: a slide's finished rows
/// are encoded while the engine infers the next row of tiles, filling the core that encoding alone
/// would leave idle. The caller hands over state only between `start` and `join`, and touches it
/// again only after `join`, so the two threads never share it at once.
final class OverlappedWork {
    private let group = DispatchGroup()
    private var running = false
    private let outcome = Outcome()

    /// Starts `body` on another thread; call `join` before starting again.
    func start(_ body: @escaping () throws(SlideError) -> Void) {
        precondition(!running, "join the previous work first")
        running = true
        group.enter()
        let task = Handoff(body: body, outcome: outcome)
        DispatchQueue.global(qos: .userInitiated).async { [group] in
            let start = ContinuousClock.now
            do throws(SlideError) { try task.body() } catch { task.outcome.error = error }
            task.outcome.seconds += (ContinuousClock.now - start).seconds
            group.leave()
        }
    }

    /// Waits for the running work, if any; rethrows its error. Returns the seconds all work took so far.
    @discardableResult
    func join() throws(SlideError) -> Double {
        if running {
            group.wait()
            running = false
        }
        if let error = outcome.error {
            outcome.error = nil
            throw error
        }
        return outcome.seconds
    }

    /// What the worker thread reports back; read only after `group.wait()`, which orders the accesses.
    private final class Outcome {
        var error: SlideError?
        var seconds = 0.0
    }

    /// Carries the closure and its outcome to the worker thread; the caller waits in `join` before it
    /// touches either again, so this is never used from two threads at once.
    private struct Handoff: @unchecked Sendable {
        let body: () throws(SlideError) -> Void
        let outcome: Outcome
    }
}
