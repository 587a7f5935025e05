import ControlProtocol
import Foundation
import Logging
import Metrics
import Segmentation
import ServiceLifecycle
import SlideIO
import Synchronization
import UNetEngine

/// The working loop: watch the inbox, claim slides once their size and mtime have been stable for
/// the quiet period, and segment them one at a time, each on the model current when it starts.
/// Outputs are published before the original leaves the spool; every slide ends in archive/ or
/// failed/ and as one line in the metrics log.
public final class SlideProcessor: Service, @unchecked Sendable {
    private let configuration: DaemonConfiguration
    private let spool: Spool
    private let store: JobStore
    private let registry: ModelRegistry
    private let status: DaemonStatus
    private let notifier: SystemdNotifier
    private let metrics: MetricsLog
    private let logger: Logger
    private let stopping = Mutex(false)
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>
    /// Last seen (size, mtime) per inbox name, and when it last changed.
    private var seen: [String: (candidate: Spool.Candidate, since: Date)] = [:]
    /// Inode, size and mtime of the configured model file when last looked at.
    private var modelStamp: ModelFileStamp?

    struct ModelFileStamp: Equatable {
        let inode: UInt64, size: Int64, modified: Double

        init?(_ path: String?) {
            var info = stat()
            guard let path, stat(path, &info) == 0 else { return nil }
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9
        }
    }

    private let doneCounter = Counter(label: "unetd_slides_total", dimensions: [("outcome", "done")])
    private let failedCounter = Counter(label: "unetd_slides_total", dimensions: [("outcome", "failed")])
    private let duplicateCounter = Counter(label: "unetd_slides_total", dimensions: [("outcome", "duplicate")])
    private let queueGauge = Gauge(label: "unetd_queue_pending")
    private let slideTimer = Metrics.Timer(label: "unetd_slide_seconds")

    public init(configuration: DaemonConfiguration, store: JobStore, registry: ModelRegistry, status: DaemonStatus,
                notifier: SystemdNotifier, logger: Logger) {
        self.configuration = configuration
        spool = Spool(configuration: configuration)
        self.store = store
        self.registry = registry
        self.status = status
        self.notifier = notifier
        metrics = MetricsLog(path: configuration.metricsLog)
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks the loop to look at the queue now (resume, reload).
    public func nudge() { wake.yield() }

    public func run() async throws {
        try spool.prepareDirectories()
        for name in spool.removeStaleTemporaries() { logger.info("removed stale temporary file", metadata: ["file": "\(name)"]) }
        let (requeued, exhausted) = try store.recoverInterrupted(maximumAttempts: configuration.maximumAttempts)
        for job in requeued { logger.warning("requeued slide interrupted by a crash", metadata: ["slide": "\(job.name)", "attempts": "\(job.attempts)"]) }
        for job in exhausted {
            await finishFailed(job, reason: "crashed the daemon \(job.attempts) times; set aside", model: nil)
        }
        modelStamp = ModelFileStamp(configuration.model)
        // Watch first, then scan, so nothing dropped in between is missed.
        let watcher = try InboxWatcher(directory: configuration.inbox)
        watcher.start()
        try scan()
        if status.markReady(watching: true) { await announceReady() }

        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    var lastFullScan = Date()
                    for await event in watcher.events {
                        switch event {
                        case .changed, .overflow: try? self.scan()
                        case .tick:
                            // Periodic full scan (network mounts send no events), or sooner while files settle.
                            if Date().timeIntervalSince(lastFullScan) >= self.configuration.rescanInterval || !self.seen.isEmpty {
                                lastFullScan = Date()
                                try? self.scan()
                            }
                            await self.checkModelFile()
                        }
                        self.notifier.watchdog()
                        self.wake.yield()
                    }
                }
                group.addTask { [self] in
                    for await _ in wakeups {
                        if stopping.withLock({ $0 }) { break }
                        await drainQueue()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: { [self] in
            stopping.withLock { $0 = true }
            notifier.stopping()
            watcher.stop()
            wake.finish()
        }
    }

    func announceReady() async {
        let model = await registry.current.file
        notifier.ready(status: "watching \(configuration.inbox); model \(model.sha256.prefix(12))")
        logger.info("ready", metadata: ["inbox": "\(configuration.inbox)", "model": "\(model.path)", "sha256": "\(model.sha256)"])
    }

    /// Claims every inbox slide whose size and mtime have held still for the quiet period.
    private func scan() throws {
        let now = Date()
        var present = Set<String>()
        for candidate in spool.candidates() {
            present.insert(candidate.name)
            if let previous = seen[candidate.name], previous.candidate == candidate {
                guard now.timeIntervalSince(previous.since) >= configuration.quietPeriod else { continue }
                seen[candidate.name] = nil
                try claim(candidate.name)
            } else {
                seen[candidate.name] = (candidate, now)
                if configuration.quietPeriod == 0 { seen[candidate.name] = nil; try claim(candidate.name) }
            }
        }
        for name in seen.keys where !present.contains(name) { seen[name] = nil }
    }

    private func claim(_ name: String) throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard let claimed = try spool.claim(name, jobTag: tag) else { return }  // another daemon won
        let hash = try Spool.sha256(of: claimed.path)
        let id = try store.enqueue(name: name, spoolPath: claimed.path, contentSHA256: hash)
        logger.info("claimed slide", metadata: ["slide": "\(name)", "job": "\(id)"])
    }

    private func drainQueue() async {
        await publishQueueStatus()
        while !status.paused, !stopping.withLock({ $0 }), let job = try? store.claimNext() {
            await process(job)
            await publishQueueStatus()
        }
    }

    /// The queue gauge and systemd's STATUS= line (queue, counts, model).
    private func publishQueueStatus() async {
        let counts = (try? store.counts()) ?? (pending: 0, done: 0, failed: 0)
        queueGauge.record(counts.pending)
        let model = await registry.current.file.sha256.prefix(12)
        notifier.status("queue \(counts.pending), done \(counts.done), failed \(counts.failed); model \(model)")
    }

    private func process(_ job: JobStore.Job) async {
        let model = await registry.current
        if let earlier = try? store.finishedDuplicate(contentSHA256: job.contentSHA256, modelSHA256: model.file.sha256, excluding: job.id) {
            do { try spool.archive(spoolPath: job.spoolPath, name: job.name) } catch {
                logger.error("archiving failed", metadata: ["slide": "\(job.name)", "error": "\(error)"])
            }
            try? store.finish(job.id, state: "duplicate", modelSHA256: model.file.sha256, seconds: 0, error: nil)
            duplicateCounter.increment()
            logger.notice("duplicate slide: same content and model as an earlier job", metadata: ["slide": "\(job.name)", "earlier_job": "\(earlier)"])
            try? metrics.append(["time": ISO8601DateFormatter().string(from: Date()), "slide": job.name, "outcome": "duplicate",
                                 "model_sha256": model.file.sha256, "job_id": job.id, "duplicate_of": earlier])
            return
        }
        let outputName = spool.outputName(for: job.name)
        status.setCurrent(CurrentSlide(name: job.name, jobID: job.id, tilesDone: 0, tilesTotal: 0, startedAt: Date()))
        defer { status.setCurrent(nil) }
        var options = SegmentationOptions(tile: configuration.tile, overlap: configuration.overlap, threshold: configuration.threshold,
                                          threads: configuration.threads)
        options.limits.maximumPixels = configuration.maximumPixels
        let started = Date()
        let frozenOptions = options
        let result: Result<SegmentationSummary, SlideError> = await withCheckedContinuation { continuation in
            // Segmentation is long, blocking CPU work: it runs on its own thread, not the cooperative pool.
            let work: @Sendable () -> Void = { [self] in
                let options = frozenOptions
                do throws(SlideError) {
                    let summary = try model.segmenter.segment(
                        slidePath: job.spoolPath, outputDirectory: configuration.outbox, options: options, outputName: outputName,
                        isCancelled: { self.stopping.withLock { $0 } },
                        progress: { self.status.progress(tilesDone: $0.tilesDone, tilesTotal: $0.tilesTotal); self.notifier.watchdog() })
                    continuation.resume(returning: .success(summary))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            Thread.detachNewThread(work)
        }
        let seconds = Date().timeIntervalSince(started)
        switch result {
        case .success(let summary):
            do {
                try spool.archive(spoolPath: job.spoolPath, name: job.name)
                try store.finish(job.id, state: "done", modelSHA256: model.file.sha256, seconds: seconds, error: nil)
            } catch {
                logger.error("archiving failed", metadata: ["slide": "\(job.name)", "error": "\(error)"])
            }
            doneCounter.increment()
            slideTimer.recordSeconds(seconds)
            logger.info("segmented slide", metadata: ["slide": "\(job.name)", "seconds": "\(String(format: "%.2f", seconds))",
                                                       "model": "\(model.file.sha256.prefix(12))"])
            try? metrics.append(Self.metricsFields(job: job, summary: summary, model: model.file, seconds: seconds))
        case .failure(let error) where error.isCancellation:
            try? store.requeue(job.id)
            logger.notice("slide interrupted by shutdown; it stays queued", metadata: ["slide": "\(job.name)"])
        case .failure(let error):
            await finishFailed(job, reason: error.reason, model: model.file.sha256)
        }
    }

    private func finishFailed(_ job: JobStore.Job, reason: String, model: String?) async {
        do {
            try spool.fail(spoolPath: job.spoolPath, name: job.name, reason: reason, attempts: job.attempts)
        } catch {
            logger.error("cannot set failed slide aside", metadata: ["slide": "\(job.name)", "error": "\(error)"])
        }
        try? store.finish(job.id, state: "failed", modelSHA256: model, seconds: nil, error: reason)
        failedCounter.increment()
        logger.error("slide failed", metadata: ["slide": "\(job.name)", "reason": "\(reason)"])
        try? metrics.append(["time": ISO8601DateFormatter().string(from: Date()), "slide": job.name, "outcome": "failed",
                             "model_sha256": model ?? NSNull(), "job_id": job.id, "attempts": job.attempts, "error": reason])
    }

    /// Reloads when the configured model file changed on disk (replaced, rewritten or touched).
    private func checkModelFile() async {
        guard configuration.watchModel, let stamp = ModelFileStamp(configuration.model) else { return }
        defer { modelStamp = stamp }
        guard let previous = modelStamp, previous != stamp else { return }
        logger.notice("model file changed; reloading", metadata: ["model": "\(configuration.model ?? "")"])
        notifier.reloading()
        if let error = await registry.reload() { logger.error("reload refused", metadata: ["error": "\(error)"]) }
        notifier.ready(status: "model reloaded")
    }

    static func metricsFields(job: JobStore.Job, summary: SegmentationSummary, model: ModelFile, seconds: Double) -> [String: Any] {
        var fields: [String: Any] = [
            "time": ISO8601DateFormatter().string(from: Date()), "slide": job.name, "outcome": "done", "job_id": job.id,
            "attempts": job.attempts, "model_sha256": model.sha256, "width": summary.width, "height": summary.height,
            "tiles_run": summary.tilesRun, "tiles_skipped": summary.tilesSkipped, "seconds": seconds,
            "megapixels_per_second": summary.megapixelsPerSecond, "positive_fraction": summary.positiveFraction,
            "stages": ["decode": summary.timings.decode, "preprocess": summary.timings.preprocess, "inference": summary.timings.inference,
                       "stitch": summary.timings.stitch, "encode": summary.timings.encode, "total": summary.timings.total],
        ]
        if let scores = summary.scores {
            fields["accuracy"] = scores.accuracy
            fields["dice"] = scores.dice
            fields["iou"] = scores.iou
        }
        return fields
    }
}
