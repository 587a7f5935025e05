import ControlProtocol
import Foundation
import Segmentation
import UNetCore

/// Reconciliation at start (and after a storage fault): every job row, spool file and output ends in
/// exactly one place. Each case undoes or finishes the one step a crash can have interrupted.
extension SlideProcessor {
    func recover() async throws {
        let store = self.store, spool = self.spool, configuration = self.configuration
        // Claims cut short: finished when the file reached the spool, undone otherwise.
        for job in try await database({ try $0.jobs(in: [.claiming]) }) {
            let reachedSpool = try await io.run { access(job.spoolPath, F_OK) == 0 }
            try await io.run {
                if reachedSpool {
                    spool.moveCompanions(from: Spool.stemPath(job.claimedFrom), to: Spool.stemPath(job.spoolPath))
                    try store.update(job.storedID) { $0.state = .queued }
                } else if job.claimedFrom.hasPrefix(configuration.failed + "/") {
                    try store.update(job.storedID) { $0.state = .failed; $0.spoolPath = job.claimedFrom; $0.destination = job.claimedFrom }
                } else {
                    try store.delete(job.storedID)
                }
            }
            logger.notice("finished an interrupted claim", metadata: ["slide": "\(job.name)", "in_spool": "\(reachedSpool)"])
        }
        // Interrupted while computing: nothing was published; run again, unless out of attempts.
        for job in try await database({ try $0.jobs(in: [.active]) }) {
            if job.attempts >= configuration.maximumAttempts {
                await failJob(job.storedID, reason: "crashed the daemon \(job.attempts) times; set aside", modelSHA256: job.modelSHA256)
                continue
            }
            let foreignOutputs = job.outputName.map { !spool.existingOutputs($0).isEmpty } ?? false
            _ = try await database { try $0.update(job.storedID) { $0.state = .queued; if foreignOutputs { $0.outputName = nil } } }
            logger.warning("requeued slide interrupted by a crash", metadata: ["slide": "\(job.name)", "attempts": "\(job.attempts)"])
        }
        // Deferred before the restart: try again now.
        _ = try await database { store in
            for job in try store.jobs(in: [.deferred]) { try store.update(job.storedID) { $0.state = .queued } }
        }
        _ = await finishInterruptedSteps()
        try await adoptOrphans()
        let lost = try await database { try $0.jobs(in: [.queued]).filter { access($0.spoolPath, F_OK) != 0 } }
        for job in lost {
            await failJob(job.storedID, reason: "its spool file \(job.spoolPath) disappeared", modelSHA256: job.modelSHA256)
        }
        let unfinished: [JobState] = JobState.allCases.filter { $0 != .archived && $0 != .failed }
        let held = Set(try await database { try $0.jobs(in: unfinished) }.compactMap(\.outputName))
        for stem in await (try? io.run { spool.removeStaleReservations(keeping: held) }) ?? [] {
            logger.info("released an output name reserved before a crash", metadata: ["outputs": "\(stem)"])
        }
    }

    /// Publishing and failing jobs completed, metrics lines appended once. True when nothing is left.
    func finishInterruptedSteps() async -> Bool {
        var clean = true
        do {
            let spool = self.spool, outbox = configuration.outbox
            for job in try await database({ try $0.jobs(in: [.publishing]) }) {
                // The outputs' state and summary are read on the I/O pool (a stalled mount must not block the control server).
                let (complete, result) = try await io.run { () -> (Bool, SegmentationSummary?) in
                    guard let outputName = job.outputName, spool.outputsComplete(outputName) else { return (false, nil) }
                    return (true, SegmentationSummary.read(from: outbox + "/" + outputName + ".result.json"))
                }
                if complete {
                    // Published before the crash: only the archive move (and the metrics line) remain.
                    do {
                        let line = try job.pendingMetricsLine
                            ?? MetricsRecord.done(job, result: result, seconds: job.seconds ?? 0, node: configuration.nodeName).line()
                        try await archive(job, line: line, nuclei: job.nuclei ?? result?.objects, seconds: job.seconds, recovering: true)
                    } catch {
                        clean = false
                        await storageFault(error, during: "archive \(job.name)", evenIfNotTransient: true)
                    }
                } else {
                    // Cut off mid-publication: remove what was renamed into place and run it again.
                    try await io.run { for path in job.outputName.map(spool.existingOutputs) ?? [] { unlink(path) } }
                    _ = try await database { try $0.update(job.storedID) { $0.state = .queued } }
                    logger.warning("requeued slide interrupted while publishing", metadata: ["slide": "\(job.name)"])
                }
            }
            for job in try await database({ try $0.jobs(in: [.failing]) }) {
                do { try await completeFailing(job) } catch {
                    clean = false
                    await storageFault(error, during: "set aside \(job.name)", evenIfNotTransient: true)
                }
            }
            for job in try await database({ try $0.jobsWithPendingMetrics() }) {
                await appendMetrics(job, unlessLogged: true)
            }
        } catch {
            clean = false
            logger.error("cannot finish interrupted steps", metadata: ["error": "\(error)"])
            await storageFault(error, during: "finish interrupted steps")
        }
        return clean
    }

    /// A slide in the spool with no job (left by an older version, or by hand) becomes a queued job.
    private func adoptOrphans() async throws {
        let spool = self.spool, store = self.store, spoolDirectory = configuration.spool
        let adopted = try await io.run { () -> [String] in
            let known = Set(try store.jobs(in: JobState.allCases).map(\.spoolPath))
            var adopted: [String] = []
            for file in try FileManager.default.contentsOfDirectory(atPath: spoolDirectory).sorted()
            where Spool.hasSlideExtension(file) && !file.hasPrefix(".") {
                let path = spoolDirectory + "/" + file
                guard !known.contains(path) else { continue }
                let name = Spool.originalName(ofSpoolFile: file)
                _ = try store.insert(Job(name: name, spoolPath: path, claimedFrom: spool.configuration.inbox + "/" + name, state: .queued))
                adopted.append(name)
            }
            return adopted
        }
        for name in adopted { logger.warning("adopted a slide found in the spool without a job", metadata: ["slide": "\(name)"]) }
    }

}
