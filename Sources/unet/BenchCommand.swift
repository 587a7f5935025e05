import ArgumentParser
import Foundation
import UNetEngine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time inference on one square tile: warm-up, then the median of several runs.")

    @Option(help: "Model file (.pth or .safetensors).") var model: String
    @Option(help: "Tile side in pixels (at least 16).") var tile = 256
    @Option(help: "Threads for the matrix products.") var threads = 2
    @Option(help: "Measured runs (at least 5).") var runs = 7
    @Option(help: "Warm-up runs.") var warmup = 2
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Time training steps (forward, backward, Adam) instead of inference.") var train = false
    @Option(help: "Batch size for --train.") var batch = 8

    func validate() throws {
        guard tile >= 16, !train || tile % 16 == 0 else { throw ValidationError("--tile must be at least 16 (a multiple of 16 with --train)") }
        guard runs >= 5 else { throw ValidationError("--runs must be at least 5") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let file = try ModelFile.load(path: model)
            if train {
                let result = try TrainingBenchmark(tile: tile, batch: batch, threads: threads, warmupSteps: warmup, measuredSteps: runs).run(file)
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(result), as: UTF8.self))
                } else {
                    print(String(format: "%@: training, %d² tiles, batch %d, %d threads: median %.0f ms/step, %.2f images/s, peak RSS %.0f MiB",
                                 result.architecture.description, tile, batch, threads, result.medianSeconds * 1000,
                                 result.imagesPerSecond, Double(result.peakResidentBytes) / 1048576))
                }
                return
            }
            let result = try InferenceBenchmark(tile: tile, threads: threads, warmupRuns: warmup, measuredRuns: runs).run(file)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                print(String(format: "%@: %d² tile, %d threads: median %.1f ms, %.3f MP/s, peak RSS %.0f MiB",
                             result.architecture.description, tile, threads, result.medianSeconds * 1000,
                             result.megapixelsPerSecond, Double(result.peakResidentBytes) / 1048576))
                print("BLAS: \(result.blas)")
            }
        }
    }
}
