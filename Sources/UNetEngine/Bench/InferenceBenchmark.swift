import Foundation
import UNetCore

/// Times the network on one square tile: warm-up runs first (buffers allocated, caches warm),
/// then the median of the measured runs.
public struct InferenceBenchmark: Sendable {
    public var tile: Int
    public var threads: Int
    public var warmupRuns: Int
    public var measuredRuns: Int
    /// `auto` resolves for this CPU; the result names what ran.
    public var precision: Precision
    /// Also time every layer, in as many extra runs after the measured ones (so the median is untouched).
    public var profileLayers: Bool

    public init(tile: Int = 256, threads: Int = 2, warmupRuns: Int = 2, measuredRuns: Int = 7, precision: Precision = .fp32,
                profileLayers: Bool = false) {
        self.tile = tile
        self.threads = threads
        self.warmupRuns = warmupRuns
        self.measuredRuns = measuredRuns
        self.profileLayers = profileLayers
        self.precision = precision
    }

    public struct Result: Codable, Sendable {
        public var modelSHA256: String
        public var architecture: UNetArchitecture
        public var tile: Int
        public var threads: Int
        public var runs: Int
        public var secondsPerRun: [Double]
        public var medianSeconds: Double
        public var megapixelsPerSecond: Double
        public var peakResidentBytes: Int
        public var blas: String
        /// The instruction-set path the convolutions ran on.
        public var cpuPath: CPUPath
        public var precision: Precision
        /// Per-layer averages, with `profileLayers`.
        public var layers: [LayerProfile.Entry]?

        enum CodingKeys: String, CodingKey {
            case modelSHA256 = "model_sha256", architecture, tile, threads, runs, secondsPerRun = "seconds_per_run"
            case medianSeconds = "median_seconds", megapixelsPerSecond = "megapixels_per_second"
            case peakResidentBytes = "peak_rss_bytes", blas, cpuPath = "cpu_path", precision, layers
        }
    }

    public func run(_ model: ModelFile) throws(CheckpointProblem) -> Result {
        let network = try model.network(precision: precision)
        let runner = UNetRunner(network: network, threads: threads)
        let channels = network.architecture.inputChannels
        // A fixed, image-like input: smooth gradients plus a little texture.
        var input = [Float](repeating: 0, count: channels * tile * tile)
        for i in input.indices { input[i] = Float((i * 2654435761) % 1000) / 1000 }
        var logits = [Float](repeating: 0, count: network.architecture.classes * tile * tile)
        var seconds: [Double] = []
        input.withUnsafeBufferPointer { source in
            logits.withUnsafeMutableBufferPointer { destination in
                for run in 0..<(warmupRuns + measuredRuns) {
                    let start = ContinuousClock.now
                    runner.logits(input: source.baseAddress!, height: tile, width: tile, into: destination.baseAddress!)
                    let elapsed = ContinuousClock.now - start
                    if run >= warmupRuns {
                        seconds.append(elapsed.seconds)
                    }
                }
            }
        }
        var layers: [LayerProfile.Entry]?
        if profileLayers {
            let profile = LayerProfile()
            runner.profile = profile
            input.withUnsafeBufferPointer { source in
                logits.withUnsafeMutableBufferPointer { destination in
                    for _ in 0..<measuredRuns { runner.logits(input: source.baseAddress!, height: tile, width: tile, into: destination.baseAddress!) }
                }
            }
            layers = profile.entries
        }
        let sorted = seconds.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return Result(modelSHA256: model.sha256, architecture: network.architecture, tile: tile, threads: threads,
                      runs: measuredRuns, secondsPerRun: seconds, medianSeconds: median,
                      megapixelsPerSecond: Double(tile * tile) / 1e6 / median,
                      peakResidentBytes: ProcessMemory.peakResidentBytes, blas: BLAS.configuration,
                      cpuPath: network.cpuPath, precision: network.precision, layers: layers)
    }
}
