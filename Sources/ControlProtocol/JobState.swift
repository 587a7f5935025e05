/// Where a slide's job stands. Every transition is stored before the file move it announces and after
/// it, so a crash at any step leaves a state from which the step can be redone:
///
///     claiming → queued → active → publishing → archived
///                  ↑        ↓  ↘ failing → failed
///                  └── deferred (disk full, quota, I/O error on outputs: retried with backoff)
///
/// `failed` and `deferred` jobs go back to `queued` with `unetctl retry`.
public enum JobState: String, Codable, Sendable, CaseIterable {
    /// Being renamed from the inbox (or from failed/, on retry) into the spool.
    case claiming
    /// In the spool, waiting for the processor.
    case queued
    /// Being segmented; outputs are still under temporary names.
    case active
    /// Outputs durable under temporary names and being renamed into place, then the original moved to archive/.
    case publishing
    /// Outputs published and the original in archive/: finished.
    case archived
    /// Being set aside in failed/ with its error.json.
    case failing
    /// Set aside in failed/ with the reason: finished until retried.
    case failed
    /// Stopped by a transient storage fault (ENOSPC, EDQUOT, EIO); retried by itself with backoff.
    case deferred

    /// The job has run its course (it counts as done or failed, and is not picked up again).
    public var isFinished: Bool { self == .archived || self == .failed }
}
