import ControlProtocol
import Foundation
import Logging
import Segmentation
import SlideIO
import UNetCore

/// One job from `active` to `archived`, `failed` or `deferred`. Every step records what it is about
/// to do before doing it (output name, `publishing`, destination, the metrics line), so `recover()`
/// can finish whatever a crash interrupted.
extension SlideProcessor {
    /// Runs `claimed` on worker `worker`'s segmenter.
    func process(_ claimed: Job, worker: Int = 0) async {
        let id = claimed.storedID
        let model = await registry.current
        let modelSHA256 = model.file.sha256
        status.begin(CurrentSlide(name: claimed.name, jobID: id, tilesDone: 0, tilesTotal: 0, startedAt: Date()))
        defer { status.end(jobID: id) }
        let started = Date()
        do {
            var job = claimed
            if job.contentSHA256 == nil {
                let path = job.spoolPath
                let hash = try await compute.run { try Spool.sha256(of: path) }
                job = try await database { try $0.update(id) { $0.contentSHA256 = hash } }
            }
            if job.outputName == nil || job.modelSHA256 != modelSHA256 {
                let spool = self.spool, name = job.name
                let reserved = job.outputName == nil ? try await io.run { try spool.reserveOutputName(for: name) } : nil
                job = try await database { try $0.update(id) { $0.outputName = $0.outputName ?? reserved; $0.modelSHA256 = modelSHA256 } }
            }
            let outputName = job.outputName ?? ""
            let store = self.store
            let markPublishing: @Sendable () throws -> Void = { try store.update(id) { $0.state = .publishing } }
            let earlier = try await database { [job] in try $0.finishedDuplicate(of: job, modelSHA256: modelSHA256) }

            var result: SegmentationSummary?
            if let earlier, let earlierOutputs = earlier.outputName {
                let reuse = DuplicateOutputs(outbox: configuration.outbox)
                result = try await io.run { [job] in
                    try reuse.publish(from: earlierOutputs, to: outputName, slideName: job.name, duplicateOf: earlier.name,
                                      beforePublishing: markPublishing)
                }
            }
            if result == nil {
                result = try await segment(job, worker: worker, outputName: outputName, model: model, duplicateOf: earlier?.name,
                                            markPublishing: markPublishing)
            }
            let seconds = Date().timeIntervalSince(started)
            let record = MetricsRecord.done(job, result: result, seconds: seconds, node: configuration.nodeName)
            // The published outputs now hold the name; released before the metrics line, so whoever reads
            // that line finds only the outputs.
            spool.releaseOutputName(outputName)
            do { try await archive(job, line: try record.line(), nuclei: result?.objects, seconds: seconds) } catch {
                // The outputs are out: the job stays `publishing` and the retry (or restart) archives it.
                logger.error("outputs published but the original could not be archived; will retry",
                             metadata: ["slide": "\(job.name)", "error": "\(error)"])
                await storageFault(error, during: "archive \(job.name)", evenIfNotTransient: true)
                return
            }
            doneCounter.increment()
            if let nuclei = result?.objects { nucleiCounter.increment(by: nuclei) }
            slideTimer.recordSeconds(seconds)
            var metadata: Logger.Metadata = ["slide": "\(job.name)", "seconds": "\(String(format: "%.2f", seconds))",
                                             "model": "\(modelSHA256.prefix(12))", "outputs": "\(outputName)"]
            if let earlier { metadata["duplicate_of"] = "\(earlier.name)" }
            logger.info("segmented slide", metadata: metadata)
            await storageRecovered()
        } catch let error as SlideError where error.isCancellation {
            _ = try? await database { try $0.update(id) { $0.state = .queued; $0.attempts = max($0.attempts - 1, 0) } }
            logger.notice("slide interrupted by shutdown; it stays queued", metadata: ["slide": "\(claimed.name)"])
        } catch let error where Self.storageErrorNumber(error) != nil {
            await deferJob(id, reason: "\(error)")
            await storageFault(error, during: "process \(claimed.name)")
        } catch {
            let reason = (error as? SlideError)?.reason ?? "\(error)"
            await failJob(id, reason: reason, modelSHA256: modelSHA256)
        }
    }

    /// Segments on the compute pool; the job turns `publishing` between durable temporaries and renames.
    private func segment(_ job: Job, worker: Int, outputName: String, model: LoadedModel, duplicateOf: String?,
                         markPublishing: @escaping @Sendable () throws -> Void) async throws -> SegmentationSummary {
        var options = SegmentationOptions(tile: configuration.tile, overlap: configuration.overlap, threshold: configuration.threshold,
                                          threads: configuration.threads)
        options.limits.maximumPixels = configuration.maximumPixels
        configuration.segmentation.apply(to: &options)
        let frozen = options, outbox = configuration.outbox, status = self.status
        return try await compute.run { [self] in
            try model.segment(worker: worker, slidePath: job.spoolPath, outputDirectory: outbox, options: frozen, outputName: outputName,
                              provenance: .init(slideName: job.name, duplicateOf: duplicateOf),
                              isCancelled: { self.stopping.withLock { $0 } },
                              progress: {
                                  status.progress(jobID: job.storedID, tilesDone: $0.tilesDone, tilesTotal: $0.tilesTotal,
                                                  megapixels: $0.megapixels, seconds: $0.seconds)
                              },
                              beforePublishing: { () throws(SlideError) in
                                  do { try markPublishing() } catch {
                                      throw SlideError(path: job.spoolPath, reason: "cannot record publishing: \(error)",
                                                       errorNumber: Self.storageErrorNumber(error))
                                  }
                              })
        }
    }

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
