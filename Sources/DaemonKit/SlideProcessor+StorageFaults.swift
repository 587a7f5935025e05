import ControlProtocol
import Foundation
import GRDB
import SlideIO
#if canImport(Glibc)
import Glibc
#endif

/// Running out of space (or quota, or an I/O error on outputs) is transient: as a mail server defers
/// rather than bounces, the slide stays queued, intake pauses, `status` says `degraded` with the
/// reason and the free bytes, and the daemon retries with backoff (1 s doubling to 60 s) until a
/// slide goes through again.
struct StorageFaults {
    /// Consecutive faults without a success in between (sets the backoff).
    var consecutive = 0
    /// True between a fault and its retry: no job is started.
    var holdingQueue = false

    var backoff: Double { min(60, pow(2, Double(max(consecutive - 1, 0)))) }
}

extension SlideProcessor {
    /// The errno behind `error` when it is a transient storage fault (ENOSPC, EDQUOT, EIO; SQLite's
    /// "disk full" and I/O errors), else nil.
    static func storageErrorNumber(_ error: any Error) -> Int32? {
        switch error {
        case let error as DaemonError: return error.isTransientStorageFault ? error.errorNumber : nil
        case let error as SlideError:
            return error.errorNumber.flatMap { DaemonError.isTransientStorageFault($0) ? $0 : nil }
        case let error as DatabaseError:
            if error.resultCode == .SQLITE_FULL { return ENOSPC }
            if error.resultCode == .SQLITE_IOERR { return EIO }
            return nil
        default: return nil
        }
    }

    /// Enters (or stays in) degraded mode when `error` is a storage fault; other errors are the
    /// caller's to report, unless `evenIfNotTransient` (a step that must be finished, not failed).
    func storageFault(_ error: any Error, during operation: String, evenIfNotTransient: Bool = false) async {
        let code = Self.storageErrorNumber(error)
        guard code != nil || evenIfNotTransient else { return }
        let backoff = faults.withLock { faults in
            faults.consecutive += 1
            faults.holdingQueue = true
            return faults.backoff
        }
        let reason = "\(operation): " + (code.map { String(cString: strerror($0)) } ?? "\(error)")
        let outbox = configuration.outbox
        let free = (try? await io.run { Self.freeBytes(outbox) }) ?? nil
        let since = status.degraded?.since ?? Date()
        if status.degraded == nil {
            logger.critical("storage fault: intake paused, slides stay queued until it clears",
                            metadata: ["reason": "\(reason)", "free_bytes": "\(free.map(String.init) ?? "?")"])
        }
        status.degraded = DegradedReason(reason: reason, freeBytes: free, since: since, retryAt: Date().addingTimeInterval(backoff))
        await publishQueueStatus()
    }

    /// A slide went through: storage is healthy again. Jobs deferred by the fault go back in the
    /// queue now: with several workers, one slide can finish while another's write failed, and a
    /// deferred job must never be left without a retry once `degraded` (which schedules it) is gone.
    func storageRecovered() async {
        faults.withLock { $0 = StorageFaults() }
        let requeued = await requeueDeferred()
        if let degraded = status.degraded {
            status.degraded = nil
            logger.notice("storage recovered: intake resumed", metadata: ["was": "\(degraded.reason)", "requeued": "\(requeued)"])
        }
        if requeued > 0 { nudge() }
    }

    /// When the backoff has run out: finish interrupted moves, put deferred jobs back in the queue
    /// and let the queue run; the first slide that goes through clears the degraded state.
    func retryAfterStorageFaultIfDue() async {
        guard let degraded = status.degraded, let due = degraded.retryAt, Date() >= due else { return }
        status.degraded?.retryAt = nil
        let outbox = configuration.outbox
        status.degraded?.freeBytes = (try? await io.run { Self.freeBytes(outbox) }) ?? nil
        let finishedPending = await finishInterruptedSteps()
        let requeued = await requeueDeferred()
        if status.degraded?.retryAt == nil {  // no new fault while finishing
            faults.withLock { $0.holdingQueue = false }
            if requeued == 0 && finishedPending { await storageRecovered() }
        }
        logger.notice("retrying after storage fault", metadata: ["requeued": "\(requeued)"])
        nudge()
    }

    /// Requeues deferred jobs now (`unetctl retry` of a deferred slide, or all of them): at once when
    /// storage is not degraded, else by making the degraded state's retry due now. Returns the names
    /// of the jobs that are deferred and now on their way back to the queue.
    func retryDeferredNow(named name: String?) async throws -> [String] {
        let deferred = try await database { try $0.jobs(in: [.deferred]) }.map(\.name).filter { name == nil || $0 == name }
        guard !deferred.isEmpty else { return [] }
        if status.degraded != nil {
            status.degraded?.retryAt = Date()
        } else {
            _ = await requeueDeferred()
        }
        return deferred
    }

    /// Puts every deferred job back in the queue, with those whose deferral could not be recorded;
    /// returns how many.
    @discardableResult
    func requeueDeferred() async -> Int {
        let unrecorded = unrecordedDeferrals.withLock { $0 }
        let requeued = (try? await database { store in
            let deferred = try store.jobs(in: [.deferred]).map(\.storedID)
            let stranded = try unrecorded.filter { try store.job($0)?.state == .active }
            for id in deferred { try store.update(id) { $0.state = .queued; $0.retryAt = nil } }
            // As `deferJob` would have: the attempt the storage fault cut short is not counted.
            for id in stranded { try store.update(id) { $0.state = .queued; $0.retryAt = nil; $0.attempts = max($0.attempts - 1, 0) } }
            return deferred.count + stranded.count
        })
        if requeued != nil { unrecordedDeferrals.withLock { $0.subtract(unrecorded) } }
        return requeued ?? 0
    }

    /// Free bytes for unprivileged writers on the file system holding `path`.
    static func freeBytes(_ path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
