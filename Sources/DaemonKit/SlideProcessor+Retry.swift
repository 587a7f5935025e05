import ControlProtocol
import Foundation

/// `unetctl retry`: a lab fixes a slide (or frees space) and sends it back into the queue. A failed
/// slide is claimed back from failed/ into the spool exactly as from the inbox (recorded, renamed,
/// recorded), its error report removed and its attempts reset; deferred slides are retried at once.
extension SlideProcessor {
    public func retry(_ request: RetryRequest) async throws -> RetryResponse {
        let store = self.store, spool = self.spool
        let failed = try await database { try $0.failedJobs(named: request.allFailed ? nil : request.name) }
        let chosen = request.allFailed ? failed : Array(failed.prefix(1))
        var requeued: [String] = []
        for job in chosen {
            let present = try await io.run { job.destination.map { access($0, F_OK) == 0 } ?? false }
            guard let source = job.destination, present else {
                logger.warning("cannot retry: the slide is no longer in failed/", metadata: ["slide": "\(job.name)"])
                continue
            }
            let spoolPath = spool.spoolPath(for: job.name, tag: spool.claimTag())
            try await io.run {
                try store.update(job.storedID) {
                    $0.state = .claiming; $0.claimedFrom = source; $0.spoolPath = spoolPath
                }
                guard try spool.claim(from: source, to: spoolPath) else {
                    try store.update(job.storedID) { $0.state = .failed }
                    return
                }
                unlink(Spool.stemPath(source) + Spool.errorReportSuffix)
                try store.update(job.storedID) {
                    $0.state = .queued; $0.attempts = 0; $0.error = nil; $0.destination = nil; $0.outputName = nil
                    $0.pendingMetricsLine = nil; $0.finishedAt = nil
                }
            }
            requeued.append(job.name)
            logger.notice("failed slide sent back to the queue", metadata: ["slide": "\(job.name)"])
        }
        requeued += try await retryDeferredNow(named: request.allFailed ? nil : request.name)
        nudge()
        return RetryResponse(requeued: requeued)
    }
}
