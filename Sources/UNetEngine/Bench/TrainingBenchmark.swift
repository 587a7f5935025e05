import Foundation
import UNetCore

/// Times training steps (forward, backward, Adam) on a fixed random batch, starting from a model's
/// weights: warm-up, then the median of the measured steps, as images per second.
public struct TrainingBenchmark: Sendable {
    public var tile: Int
    public var batch: Int
    public var threads: Int
    public var warmupSteps: Int
    public var measuredSteps: Int

    public init(tile: Int = 256, batch: Int = 8, threads: Int = 2, warmupSteps: Int = 1, measuredSteps: Int = 5) {
        self.tile = tile
        self.batch = batch
        self.threads = threads
        self.warmupSteps = warmupSteps
        self.measuredSteps = measuredSteps
    }

    public struct Result: Codable, Sendable {
        public var architecture: UNetArchitecture
        public var tile: Int, batch: Int, threads: Int
        public var secondsPerStep: [Double]
        public var medianSeconds: Double
        public var imagesPerSecond: Double
        public var peakResidentBytes: Int

        enum CodingKeys: String, CodingKey {
            case architecture, tile, batch, threads, secondsPerStep = "seconds_per_step", medianSeconds = "median_seconds"
            case imagesPerSecond = "images_per_second", peakResidentBytes = "peak_rss_bytes"
        }
    }

    public func run(_ model: ModelFile) throws(CheckpointProblem) -> Result {
        let architecture = model.metadata.architecture
        let trainer = try UNetTrainer(architecture: architecture, stateDict: model.tensors, optimizer: nil, learningRate: 1e-3,
                                      batch: batch, tile: tile, threads: threads)
        let pixels = tile * tile
        let images = (0..<(batch * 3 * pixels)).map { Float(($0 * 2654435761) % 1000) / 1000 }
        let targets = (0..<(batch * pixels)).map { Float(($0 / 37) % 2) }
        var seconds: [Double] = []
        images.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { t in
                for step in 0..<(warmupSteps + measuredSteps) {
                    let start = ContinuousClock.now
                    _ = trainer.step(images: x.baseAddress!, targets: t.baseAddress!, loss: .bce)
                    let elapsed = ContinuousClock.now - start
                    if step >= warmupSteps { seconds.append(elapsed.seconds) }
                }
            }
        }
        let median = seconds.sorted()[seconds.count / 2]
        return Result(architecture: architecture, tile: tile, batch: batch, threads: threads, secondsPerStep: seconds,
                      medianSeconds: median, imagesPerSecond: Double(batch) / median, peakResidentBytes: ProcessMemory.peakResidentBytes)
    }
}
