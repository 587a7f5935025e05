import ControlProtocol
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The working loop: watch the inbox, claim slides once their size and mtime have been stable for
/// the quiet period, and segment them, `workers` at a time, each on the model current when it starts.
/// Each job walks the stored `JobState` machine, so after a crash at any step `recover()` finishes
/// or undoes that step: every slide ends with its outputs published and its original in archive/, or
/// in failed/ beside the reason, and as exactly one line in the metrics log.
public final class SlideProcessor: Service, Sendable {
    let configuration: DaemonConfiguration
    let spool: Spool
    let store: JobStore
    let registry: ModelRegistry
    let status: DaemonStatus
    let notifier: SystemdNotifier
    let metrics: MetricsLog
    let logger: Logger
    /// Blocking work, on threads of its own: `io` for file work, `databasePool` for the job store,
    /// `compute` for hashing and segmenting (`DaemonPools`).
    let io: BlockingPool, databasePool: BlockingPool, compute: BlockingPool
    let heartbeat = Heartbeat()
    let stopping = Mutex(false)
    let intake = Mutex(IntakeState())
    /// Workers (0..<workers) not draining the queue right now.
    let idleWorkers: Mutex<Set<Int>>
    let faults = Mutex(StorageFaults())
    /// Jobs left `active` because the store could not record their deferral (or failure): the disk
    /// that failed the slide can fail the database too. They go back in the queue with the deferred ones.
    let unrecordedDeferrals = Mutex<Set<Int64>>([])
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>

    /// What the inbox looked like: last seen (size, mtime) per name and since when; the model file's
    /// stamp (SlideProcessor+Reload.swift).
    struct IntakeState {
        var seen: [String: (candidate: Spool.Candidate, since: Date)] = [:]
        var modelStamp: ModelFileStamp?
    }

    /// Prometheus series, labelled with the node so that several daemons can be scraped into one view.
    let doneCounter: Counter, failedCounter: Counter, deferredCounter: Counter
    /// Nuclei found in finished slides (`unetd_nuclei_total`).
    let nucleiCounter: Counter
    let queueGauge: Gauge
    let slideTimer: Metrics.Timer

    public init(configuration: DaemonConfiguration, store: JobStore, registry: ModelRegistry, status: DaemonStatus,
                notifier: SystemdNotifier, pools: DaemonPools, logger: Logger) {
        self.configuration = configuration
        spool = Spool(configuration: configuration)
        self.store = store
        self.registry = registry
        self.status = status
        self.notifier = notifier
        io = pools.files
        databasePool = pools.database
        compute = pools.compute
        metrics = MetricsLog(path: configuration.metricsLog)
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        idleWorkers = Mutex(Set(0..<configuration.workers))
        let node = ("node", configuration.nodeName)
        doneCounter = Counter(label: "unetd_slides_total", dimensions: [("outcome", "done"), node])
        failedCounter = Counter(label: "unetd_slides_total", dimensions: [("outcome", "failed"), node])
        deferredCounter = Counter(label: "unetd_slides_total", dimensions: [("outcome", "deferred"), node])
        nucleiCounter = Counter(label: "unetd_nuclei_total", dimensions: [node])
        queueGauge = Gauge(label: "unetd_queue_pending", dimensions: [node])
        slideTimer = Metrics.Timer(label: "unetd_slide_seconds", dimensions: [node])
    }

    /// Asks the loop to look at the queue now (resume, reload, retry).
    public func nudge() { wake.yield() }

    /// Runs a job-store call on the database pool.
    func database<T: Sendable>(_ body: @escaping @Sendable (JobStore) throws -> T) async throws -> T {
        let store = self.store
        return try await databasePool.run { try body(store) }
    }

    public func run() async throws {
        let spool = self.spool
        try await io.run { try spool.prepareDirectories() }
        for name in await (try? io.run { spool.removeStaleTemporaries() }) ?? [] {
            logger.info("removed stale temporary file", metadata: ["file": "\(name)"])
        }
        try await recover()
        intake.withLock { $0.modelStamp = ModelFileStamp(configuration.model) }
        // Watch first, then scan, so nothing dropped in between is missed.
        let watch = configuration.watch
        let watcher = try InboxWatcher(directory: watch == .poll ? nil : configuration.inbox,
                                       tickInterval: watch == .poll ? configuration.pollInterval : 1)
        watcher.start()
        if watch != .poll, let kind = NetworkMount.kind(of: configuration.inbox) {
            logger.warning("the inbox is on a network file system, where other hosts' writes send no inotify events; set watch = \"poll\" (--watch poll)",
                           metadata: ["inbox": "\(configuration.inbox)", "file_system": "\(kind)", "watch": "\(watch.rawValue)"])
        }
        await scan()
        if status.markReady(watching: true) { await announceReady() }
        let watchdog = WatchdogFeeder.startIfEnabled(notifier: notifier, heartbeat: heartbeat)
        defer { watchdog?.stop() }

        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    while !stopping.withLock({ $0 }) {
                        heartbeat.beat()
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
                group.addTask { [self] in
                    var lastFullScan = Date()
                    for await event in watcher.events {
                        switch event {
                        case .changed, .overflow: await scan()
                        case .tick:
                            // A full listing when due (polling, or the periodic rescan beside inotify),
                            // and on every tick while files settle.
                            let settling = intake.withLock { !$0.seen.isEmpty }
                            let interval: Double? = switch watch {
                            case .poll: configuration.pollInterval
                            case .both: configuration.rescanInterval
                            case .inotify: nil
                            }
                            if settling || interval.map({ Date().timeIntervalSince(lastFullScan) >= $0 }) ?? false {
                                lastFullScan = Date()
                                await scan()
                            }
                            await retryAfterStorageFaultIfDue()
                            await checkModelFile()
                        }
                        wake.yield()
                    }
                }
                group.addTask { [self] in
                    // Every wakeup sets each idle worker draining the queue; busy ones carry on.
                    await withDiscardingTaskGroup { workers in
                        for await _ in wakeups {
                            if stopping.withLock({ $0 }) { break }
                            await publishQueueStatus()
                            for worker in idleWorkers.withLock({ idle in defer { idle = [] }; return idle.sorted() }) {
                                workers.addTask { [self] in
                                    await drainQueue(worker: worker)
                                    idleWorkers.withLock { _ = $0.insert(worker) }
                                }
                            }
                        }
                    }
                }
                await group.next()
                stopping.withLock { $0 = true }
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

    /// Worker `worker` takes queued jobs one after another until none is left (or the queue is held).
    private func drainQueue(worker: Int) async {
        while !status.paused, !stopping.withLock({ $0 }), !faults.withLock({ $0.holdingQueue }) {
            let next: Job?
            do { next = try await database { try $0.claimNext() } } catch {
                await storageFault(error, during: "take the next job")
                break
            }
            guard let job = next else { break }
            await process(job, worker: worker)
            await publishQueueStatus()
        }
    }

    /// The queue gauge and systemd's STATUS= line (queue, counts, model, degraded reason).
    func publishQueueStatus() async {
        let counts = (try? await database { try $0.counts() }) ?? JobStore.Counts()
        queueGauge.record(counts.pending)
        let model = await registry.current.file.sha256.prefix(12)
        let degraded = status.degraded.map { "; degraded: \($0.reason)" } ?? ""
        notifier.status("queue \(counts.pending), done \(counts.done), failed \(counts.failed); model \(model)\(degraded)")
    }
}
