import Synchronization
import Testing
@testable import UNetEngine

/// The engine's worker pool: every chunk once, each worker's first chunk in its own slot, calls
/// from inside a job refused (so `ParallelBands` falls back), and nothing left running afterwards.
@Suite struct WorkerPoolTests {
    @Test(arguments: [2, 3, 8])
    func everyChunkRunsOnceAndFirstChunksRunAsTheirWorker(workers: Int) {
        let pool = WorkerPool(workers: workers)
        for round in 0..<2_000 {
            let chunks = 1 + (round * 7919) % 13
            let runs = Mutex([Int](repeating: 0, count: chunks))
            let wrongSlot = Atomic<Int>(0)
            let accepted = pool.run(chunks: chunks) { worker, index in
                runs.withLock { $0[index] += 1 }
                if index < min(workers, chunks) && worker != index { wrongSlot.add(1, ordering: .relaxed) }
                #expect(worker >= 0 && worker < workers)
            }
            #expect(accepted)
            #expect(runs.withLock { $0 } == [Int](repeating: 1, count: chunks), "round \(round): \(chunks) chunks")
            #expect(wrongSlot.load(ordering: .relaxed) == 0, "round \(round)")
        }
    }

    @Test func aCallFromInsideAJobIsRefusedAndParallelBandsStillRunsIt() {
        let bands = ParallelBands(workers: 2)
        let inner = Atomic<Int>(0)
        bands.forEach(count: 4, chunk: 1) { _, _ in
            bands.forEach(count: 3, chunk: 1) { _, range in inner.add(range.count, ordering: .relaxed) }
        }
        #expect(inner.load(ordering: .relaxed) == 12)
    }
}
