import ControlProtocol
import Foundation
import Synchronization

/// What the control server reports and the processor updates: paused, degraded or running, the
/// slides in progress (one per busy worker), and readiness. Guarded by a mutex; never held across work.
public final class DaemonStatus: Sendable {
    private struct State {
        var paused = false
        var degraded: DegradedReason?
        var slides: [Int64: CurrentSlide] = [:]
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

    /// Slides in progress, oldest first.
    public var slides: [CurrentSlide] {
        state.withLock { $0.slides.values.sorted { ($0.startedAt, $0.jobID) < ($1.startedAt, $1.jobID) } }
    }

    public func begin(_ slide: CurrentSlide) { state.withLock { $0.slides[slide.jobID] = slide } }

    public func end(jobID: Int64) { state.withLock { $0.slides[jobID] = nil } }

    public func progress(jobID: Int64, tilesDone: Int, tilesTotal: Int, megapixels: Double, seconds: Double) {
        state.withLock {
            $0.slides[jobID]?.tilesDone = tilesDone
            $0.slides[jobID]?.tilesTotal = tilesTotal
            $0.slides[jobID]?.megapixels = megapixels
            $0.slides[jobID]?.seconds = seconds
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
