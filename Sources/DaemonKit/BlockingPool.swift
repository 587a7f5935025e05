import NIOPosix

/// The one way blocking work leaves the cooperative thread pool: hashing, fsync, file moves, SQLite,
/// model loading and segmentation each run on a thread of a `BlockingPool` (SwiftNIO's
/// `NIOThreadPool`), so the tasks that answer the socket and feed the watchdog never wait behind them.
/// The daemon keeps two: `io` for short file and database work, `compute` for hashing and segmenting
/// whole slides, so a long slide never delays a status request's database read.
public final class BlockingPool: Sendable {
    private let pool: NIOThreadPool

    public init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    /// Runs `body` on one of the pool's threads and returns (or rethrows) its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
