import Dispatch
import Synchronization

/// Splits work over a fixed number of workers. Each worker calls OpenBLAS single-threaded on its own
/// band, so im2col, the GEMM and the bias pass all run in parallel and no BLAS thread spins idle while
/// the caller prepares the next product. The workers beside the caller are a `WorkerPool`'s threads,
/// shared by the copies of one `ParallelBands`.
struct ParallelBands: Sendable {
    let workers: Int
    private let pool: WorkerPool?

    init(workers: Int) {
        self.workers = workers
        pool = workers > 1 ? WorkerPool(workers: workers) : nil
    }

    /// Calls `body(worker, range)` for consecutive ranges of `0..<count`, `chunk` items each, on up to
    /// `workers` threads. Each thread takes the next range when it finishes one, so a thread that the
    /// kernel preempts (for the slide's PNG encoder, on a 2-core machine) delays only its own range,
    /// not the whole layer. Which thread runs a range never changes what it computes.
    func forEach(count: Int, chunk: Int, _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        let chunks = (count + chunk - 1) / chunk
        @Sendable func range(_ index: Int) -> Range<Int> { (index * chunk)..<min(count, (index + 1) * chunk) }
        guard min(workers, chunks) > 1 else {
            for index in 0..<chunks { body(0, range(index)) }
            return
        }
        if let pool, pool.run(chunks: chunks, { worker, index in body(worker, range(index)) }) { return }
        // The pool is busy (a call from inside one of its jobs, or from another thread): libdispatch's.
        let active = min(workers, chunks)
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            let nextChunk = Atomic<Int>(active)  // chunks 0..<active are each worker's first
            DispatchQueue.concurrentPerform(iterations: active) { worker in
                var index = worker
                while index < chunks {
                    shared.value(worker, range(index))
                    index = nextChunk.add(1, ordering: .relaxed).oldValue
                }
            }
        }
    }

    /// Bands are cut the same way whatever the thread count, so every output value is computed by the
    /// same calls and 1, 2, 4 or 16 threads give the same result bit for bit (OpenBLAS may sum
    /// differently for a product of another width). Large layers are cut by cache budget into many
    /// bands; a small one into at least `minimumBands`, which keeps two workers busy without cutting
    /// its products so thin that OpenBLAS repacks weights for slivers (8 measured 5% slower overall).
    static let minimumBands = 2

    /// The largest band of `count` rows (or pixels) that still leaves `minimumBands` bands.
    static func largestBand(_ count: Int) -> Int { max(1, (count + minimumBands - 1) / minimumBands) }

    /// Splits `0..<count` into one contiguous range per worker. Only for work whose results do not
    /// depend on the split (copies, pooling, per-channel passes).
    func split(count: Int, _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        forEach(count: count, chunk: max(1, (count + workers - 1) / workers), body)
    }
}
