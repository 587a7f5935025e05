import NIOPosix

/// The one way blocking work leaves the cooperative thread pool: hashing, fsync, file moves, SQLite,
/// model loading and segmentation each run on a thread of a `BlockingPool` (SwiftNIO's
/// `NIOThreadPool`), so the tasks that answer the socket and feed the watchdog never wait behind them.
/// The daemon keeps one per kind of wait (`DaemonPools`).
public final class BlockingPool: Sendable {
    private let pool: NIOThreadPool
    private let beforeEachCall: (@Sendable () -> Void)?

    /// `beforeEachCall` runs on the pool's thread before each call: a seam for tests that make the
    /// pool's file system stall.
    public init(threads: Int, beforeEachCall: (@Sendable () -> Void)? = nil) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        self.beforeEachCall = beforeEachCall
        pool.start()
    }

    /// Runs `body` on one of the pool's threads and returns (or rethrows) its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive { [beforeEachCall] in
            beforeEachCall?()
            return try body()
        }
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
