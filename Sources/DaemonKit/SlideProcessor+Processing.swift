import ControlProtocol
import Foundation
import Logging
import Segmentation
import SlideIO
import UNetCore

/// One job from `active` to its outcome (SlideProcessor+Outcomes.swift): content hash, output name,
/// a duplicate's reuse or the segmentation, `publishing`. Every step records what it is about to do
/// before doing it, so `recover()` can finish whatever a crash interrupted.
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
}
