import Dispatch
import Foundation
import Synchronization

/// The threads `ParallelBands` hands its work to: `workers - 1` helpers that live as long as the pool,
/// beside the calling thread. After a job they spin briefly before they sleep, because the next layer's
/// job usually follows within microseconds: waking a sleeping thread (as `concurrentPerform` does for
/// every call) took 40–60 µs on the VMs here, and a width-16 tile runs 23–35 such jobs.
///
/// Chunk `w` of the first `workers` always runs as worker `w` (its slot: scratch, partial sums), as
/// with `concurrentPerform`, so sums kept per worker add up the same way every run; later chunks go to
/// whichever thread is free. A helper joins a job only while the caller is still taking chunks; the
/// first chunk of a helper that did not join is run by the caller in that helper's slot, so the caller
/// never waits for a thread that is still asleep, only for those that took part.
final class WorkerPool: Sendable {
    let workers: Int
    private let shared: Shared

    /// Helpers poll this long after a job (yielding the core to any other thread that wants it) before
    /// they sleep, and only where each worker has a core.
    static let spinTime = Duration.microseconds(50)

    init(workers: Int) {
        self.workers = workers
        let spins = workers <= ProcessInfo.processInfo.activeProcessorCount
        shared = Shared(helpers: workers - 1)
        for helper in 0..<(workers - 1) {
            let thread = Thread { [shared] in shared.serve(helper: helper, spins: spins) }
            thread.name = "unet-worker-\(helper + 1)"
            thread.start()
        }
    }

    deinit { shared.stop() }

    /// Runs `body(worker, index)` for every index in `0..<chunks`, each once, on the caller (worker 0)
    /// and the helpers that join; returns when all are done. False, having run nothing, when the pool
    /// is already running a job (a call from inside a job, or from another thread).
    func run(chunks: Int, _ body: (_ worker: Int, _ index: Int) -> Void) -> Bool {
        guard shared.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { shared.busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            let job = Job(body: body, chunks: chunks, firstChunks: min(workers, chunks))
            shared.publish(job)
            job.take(worker: 0)
            let joined = shared.close()  // no helper joins from here on
            for helper in joined.indices where !joined[helper] && helper + 1 < job.firstChunks {
                job.run(chunk: helper + 1, as: helper + 1)
            }
            shared.waitUntilFinished(joined.count { $0 })  // they hold the job (and so the body) no longer
        }
        return true
    }

    /// One call's work: its body, and the next chunk after the workers' first ones.
    private final class Job: Sendable {
        private let body: UncheckedSendable<(Int, Int) -> Void>
        let chunks: Int
        /// Chunks `0..<firstChunks` are each worker's first: chunk `w` runs as worker `w`.
        let firstChunks: Int
        private let next: Atomic<Int>

        init(body: @escaping (Int, Int) -> Void, chunks: Int, firstChunks: Int) {
            self.body = UncheckedSendable(body)
            self.chunks = chunks
            self.firstChunks = firstChunks
            next = Atomic(firstChunks)
        }

        func run(chunk: Int, as worker: Int) { body.value(worker, chunk) }

        /// Runs the worker's own first chunk, then takes chunks until none is left.
        func take(worker: Int) {
            if worker < firstChunks { run(chunk: worker, as: worker) }
            var index = next.add(1, ordering: .relaxed).oldValue
            while index < chunks {
                run(chunk: index, as: worker)
                index = next.add(1, ordering: .relaxed).oldValue
            }
        }
    }

    /// What the helpers share with the caller.
    private final class Shared: Sendable {
        let busy = Atomic<Bool>(false)
        /// Bumped for every job (and to stop): what the helpers watch.
        private let generation = Atomic<Int>(0)
        private let stopping = Atomic<Bool>(false)
        /// The current job while helpers may still join it, and which have.
        private let current: Mutex<(job: Job?, joined: [Bool])>
        /// Helpers done with the current job.
        private let finished = Atomic<Int>(0)
        private let helpers: [Helper]

        /// One helper's way to sleep and be woken.
        final class Helper: Sendable {
            let sleeping = Atomic<Bool>(false)
            let wakeup = DispatchSemaphore(value: 0)
        }

        init(helpers count: Int) {
            helpers = (0..<count).map { _ in Helper() }
            current = Mutex((nil, [Bool](repeating: false, count: count)))
        }

        func publish(_ job: Job) {
            finished.store(0, ordering: .relaxed)  // the last job's helpers all finished before it returned
            current.withLock { current in
                current.job = job
                for helper in current.joined.indices { current.joined[helper] = false }
            }
            generation.add(1, ordering: .sequentiallyConsistent)
            wakeSleepers()
        }

        /// Closes the current job to helpers; returns which joined it.
        func close() -> [Bool] { current.withLock { current in current.job = nil; return current.joined } }

        /// Spins briefly, then yields the core between polls: a helper the kernel preempted (for the
        /// slide's encoder, on two cores) may need this one to finish, and spinning on would hold it.
        func waitUntilFinished(_ helpers: Int) {
            var polls = 0
            while finished.load(ordering: .acquiring) < helpers {
                polls += 1
                if polls > 256 { sched_yield() }
            }
        }

        func stop() {
            stopping.store(true, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            wakeSleepers()
        }

        private func wakeSleepers() {
            for helper in helpers where helper.sleeping.exchange(false, ordering: .sequentiallyConsistent) { helper.wakeup.signal() }
        }

        /// A helper's life: wait for a new generation, join its job if it is still open, repeat.
        func serve(helper index: Int, spins: Bool) {
            let helper = helpers[index], clock = ContinuousClock()
            var seen = generation.load(ordering: .acquiring)
            while true {
                let spinUntil = clock.now + (spins ? WorkerPool.spinTime : .zero)
                var polls = 0
                while generation.load(ordering: .acquiring) == seen {
                    polls += 1
                    // Past the first polls, each hands the core to any thread waiting for it (the slide's
                    // encoder): on two busy cores spinning would take its time, not the engine's.
                    if polls > 64 { sched_yield() }
                    if polls & 63 != 0 || clock.now < spinUntil { continue }
                    // Sleep, unless a job was published after the flag went up (then its publisher may
                    // or may not have seen the flag: a wakeup left over is harmless, the loop re-checks).
                    helper.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if generation.load(ordering: .sequentiallyConsistent) == seen { helper.wakeup.wait() }
                    helper.sleeping.store(false, ordering: .sequentiallyConsistent)
                }
                if stopping.load(ordering: .sequentiallyConsistent) { return }
                seen = generation.load(ordering: .acquiring)
                do {  // the job (and its body) is let go before the caller hears this helper is done
                    let job: Job? = current.withLock { current in
                        // Once per job: a helper back from it may find it still open.
                        guard current.job != nil, !current.joined[index] else { return nil }
                        current.joined[index] = true
                        return current.job
                    }
                    guard let job else { continue }
                    job.take(worker: index + 1)
                }
                finished.add(1, ordering: .releasing)
            }
        }
    }
}

/// Hands a non-Sendable closure to threads that only run it while its owner waits.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
