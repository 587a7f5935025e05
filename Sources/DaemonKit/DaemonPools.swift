/// The daemon's blocking pools, one per kind of wait, so that a stall in one never holds up another:
/// a stalled outbox mount delays file work only, never a status request (which reads the job store).
public struct DaemonPools: Sendable {
    /// The job store (SQLite): every status and jobs request waits on this pool alone.
    public let database: BlockingPool
    /// Inbox, spool, outbox and archive file work (rename, fsync, unlink, directory scans, statvfs)
    /// and model loading: whatever can stall with a mount.
    public let files: BlockingPool
    /// Hashing and segmenting whole slides, one thread per worker.
    public let compute: BlockingPool
    /// The web page's reads (viewer tiles, thumbnails, downloads): a viewer asking for dozens of tiles
    /// at once never delays the daemon's own file work.
    public let web: BlockingPool

    public init(database: BlockingPool, files: BlockingPool, compute: BlockingPool, web: BlockingPool = BlockingPool(threads: 2)) {
        self.database = database
        self.files = files
        self.compute = compute
        self.web = web
    }

    /// The pools a daemon with `workers` workers runs on.
    public init(workers: Int) {
        self.init(database: BlockingPool(threads: 1), files: BlockingPool(threads: 2), compute: BlockingPool(threads: workers))
    }

    public func shutdown() async {
        await web.shutdown()
        await compute.shutdown()
        await files.shutdown()
        await database.shutdown()
    }
}
