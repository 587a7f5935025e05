import ControlProtocol
import Foundation
import Synchronization

/// What the control server reports and the processor updates: paused, degraded or running, the
/// slide in progress, and readiness. Guarded by a mutex; never held across work.
public final class DaemonStatus: Sendable {
    private struct State {
        var paused = false
        var degraded: DegradedReason?
        var current: CurrentSlide?
        var watching = false
        var listening = false
        var announcedReady = false
    }

    private let state = Mutex(State())

    public init() {}

    public var paused: Bool {
        get { state.withLock { $0.paused } }
        set { state.withLock { $0.paused = newValue } }
    }

    /// Set while storage faults hold the queue back; nil when healthy.
    public var degraded: DegradedReason? {
        get { state.withLock { $0.degraded } }
        set { state.withLock { $0.degraded = newValue } }
    }

    /// Running, paused by the lab, or degraded by storage (a fault outranks a pause: it says more).
    public var daemonState: DaemonState {
        state.withLock { $0.degraded != nil ? .degraded : $0.paused ? .paused : .running }
    }

    public var current: CurrentSlide? { state.withLock { $0.current } }

    public func setCurrent(_ slide: CurrentSlide?) { state.withLock { $0.current = slide } }

    public func progress(tilesDone: Int, tilesTotal: Int) {
        state.withLock {
            $0.current?.tilesDone = tilesDone
            $0.current?.tilesTotal = tilesTotal
        }
    }

    /// Marks one readiness condition; returns true exactly once, when both the watcher (watch added,
    /// first scan done) and the control socket are up.
    public func markReady(watching: Bool = false, listening: Bool = false) -> Bool {
        state.withLock {
            if watching { $0.watching = true }
            if listening { $0.listening = true }
            guard $0.watching, $0.listening, !$0.announcedReady else { return false }
            $0.announcedReady = true
            return true
        }
    }
}
