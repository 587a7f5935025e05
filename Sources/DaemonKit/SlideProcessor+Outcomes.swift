import ControlProtocol
import Foundation
import Logging

/// Where a job ends: `archived` (outputs published, original in archive/), `failed` (set aside in
/// failed/ with the reason), or `deferred` (a storage fault; it waits for the retry). Each records
/// what it is about to do before doing it, so that `recover()` can finish it after a crash.
extension SlideProcessor {
    /// Records destination and metrics line, moves the original to archive/, records `archived`,
    /// then appends the metrics line. Outputs are already published: a failure here is the storage's,
    /// never the slide's, so it leaves the job `publishing` for the retry to finish.
    func archive(_ job: Job, line: String, nuclei: Int?, seconds: Double?, recovering: Bool = false) async throws {
        let id = job.storedID
        let destination = job.destination ?? spool.destination(for: job.name, in: configuration.archive)
        let recorded = try await database {
            try $0.update(id) {
                $0.destination = destination; $0.pendingMetricsLine = line; $0.seconds = seconds ?? $0.seconds
                $0.nuclei = nuclei ?? $0.nuclei
            }
        }
        let spool = self.spool
        try await io.run { try spool.move(spoolPath: recorded.spoolPath, to: destination) }
        let finished = try await database { try $0.update(id) { $0.state = .archived; $0.finishedAt = Date(); $0.error = nil } }
        await appendMetrics(finished, unlessLogged: recovering)
    }

    /// Sets a slide aside in failed/ beside `NAME.error.json`. When the move itself fails (disk
    /// full), the job stays `failing` and the retry after the fault finishes it.
    func failJob(_ id: Int64, reason: String, modelSHA256: String?) async {
        do {
            let job = try await database { try $0.update(id) { $0.error = reason; $0.modelSHA256 = modelSHA256 ?? $0.modelSHA256 } }
            let destination = job.destination ?? spool.destination(for: job.name, in: configuration.failed)
            let line = try MetricsRecord.failed(job, reason: reason, node: configuration.nodeName).line()
            let failing = try await database {
                try $0.update(id) { $0.state = .failing; $0.destination = destination; $0.pendingMetricsLine = line }
            }
            if let outputName = job.outputName { spool.releaseOutputName(outputName) }  // nothing was published under it
            try await completeFailing(failing)
            logger.error("slide failed", metadata: ["slide": "\(job.name)", "reason": "\(reason)", "set_aside_as": "\(destination)"])
        } catch {
            // Not even `failing` recorded: the job is still `active`; it runs again after the fault.
            if (try? await database({ try $0.job(id) }))?.state == .active { unrecordedDeferrals.withLock { _ = $0.insert(id) } }
            logger.error("cannot set failed slide aside; will retry", metadata: ["job": "\(id)", "error": "\(error)"])
            await storageFault(error, during: "set aside job \(id)", evenIfNotTransient: true)
        }
    }

    /// The move into failed/, the error report, `failed`, the metrics line: each redone safely.
    func completeFailing(_ job: Job) async throws {
        guard let destination = job.destination else { return }
        let spool = self.spool
        try await io.run {
            try spool.move(spoolPath: job.spoolPath, to: destination)
            try spool.writeErrorReport(beside: destination, name: job.name, reason: job.error ?? "unknown", attempts: job.attempts)
        }
        let finished = try await database { try $0.update(job.storedID) { $0.state = .failed; $0.finishedAt = Date() } }
        failedCounter.increment()
        await appendMetrics(finished)
    }

    /// Storage failed under this job: it waits, its attempt not counted, until the retry.
    func deferJob(_ id: Int64, reason: String) async {
        do {
            let job = try await database {
                try $0.update(id) { $0.state = .deferred; $0.attempts = max($0.attempts - 1, 0); $0.error = reason }
            }
            deferredCounter.increment()
            logger.warning("slide deferred by a storage fault; it stays queued", metadata: ["slide": "\(job.name)", "reason": "\(reason)"])
        } catch {
            unrecordedDeferrals.withLock { _ = $0.insert(id) }
            logger.error("cannot record deferral; the slide goes back in the queue with the deferred ones",
                         metadata: ["job": "\(id)", "error": "\(error)"])
        }
    }

    /// Appends a finished job's metrics line once, then clears it; a failed append stays pending.
    /// `unlessLogged` (after a crash) first looks for a line the job already has.
    func appendMetrics(_ job: Job, unlessLogged: Bool = false) async {
        guard let line = job.pendingMetricsLine else { return }
        let metrics = self.metrics, id = job.storedID, name = job.name, node = configuration.nodeName
        do {
            try await io.run {
                if unlessLogged && metrics.contains(jobID: id, slide: name, node: node) { return }
                try metrics.append(line: line)
            }
            _ = try await database { try $0.update(job.storedID) { $0.pendingMetricsLine = nil } }
        } catch {
            logger.error("cannot append to the metrics log; will retry", metadata: ["slide": "\(job.name)", "error": "\(error)"])
            await storageFault(error, during: "append metrics")
        }
    }
}
