import ArgumentParser
import Foundation
import Segmentation
import UNetEngine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time inference on one square tile: warm-up, then the median of several runs.")

    @Option(help: "Model file (.pth or .safetensors); not needed with --objects.") var model: String?
    @Option(help: "Time the object step alone (tracing, splitting touching nuclei, GeoJSON and CSV) on a synthetic slide of WIDTHxHEIGHT px.")
    var objects: String?
    @Option(help: "Tile side in pixels (at least 16).") var tile = 256
    @Option(help: "Threads for the matrix products.") var threads = 2
    @Option(help: "Arithmetic: fp32, bf16, or auto (bf16 where the CPU has native bf16 dot products).") var precision: Precision = .fp32
    @Option(help: "Measured runs (at least 5).") var runs = 7
    @Option(help: "Warm-up runs.") var warmup = 2
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Time training steps (forward, backward, Adam) instead of inference.") var train = false
    @Option(help: "Batch size for --train.") var batch = 8
    @Flag(help: "Also time every layer (in its own extra runs), with the kernel that ran it.") var layers = false

    func validate() throws {
        guard tile >= 16, !train || tile % 16 == 0 else { throw ValidationError("--tile must be at least 16 (a multiple of 16 with --train)") }
        guard runs >= 5 else { throw ValidationError("--runs must be at least 5") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            if let objects {
                let sides = objects.lowercased().split(separator: "x").compactMap { Int($0) }
                guard sides.count == 2, sides.allSatisfy({ $0 >= 72 }) else { throw ValidationError("--objects takes WIDTHxHEIGHT, each at least 72") }
                let directory = FileManager.default.temporaryDirectory.path
                let result = try ObjectStepBenchmark(width: sides[0], height: sides[1]).run(directory: directory)
                if json {
                    try Self.printJSON(result)
                } else {
                    print(String(format: "objects on a synthetic %d × %d slide: %d found (%d placed), %.1f s, %.1f MP/s, GeoJSON %.0f MB, peak RSS %.0f MiB",
                                 result.width, result.height, result.objects, result.expectedObjects, result.seconds, result.megapixelsPerSecond,
                                 Double(result.geojsonBytes) / 1e6, Double(result.peakResidentBytes) / 1048576))
                }
                return
            }
            guard let model else { throw ValidationError("--model is required (or --objects)") }
            let file = try ModelFile.load(path: model)
            if train {
                let result = try TrainingBenchmark(tile: tile, batch: batch, threads: threads, warmupSteps: warmup, measuredSteps: runs).run(file)
                if json {
                    try Self.printJSON(result)
                } else {
                    print(String(format: "%@: training, %d² tiles, batch %d, %d threads: median %.0f ms/step, %.2f images/s, peak RSS %.0f MiB",
                                 result.architecture.description, tile, batch, threads, result.medianSeconds * 1000,
                                 result.imagesPerSecond, Double(result.peakResidentBytes) / 1048576))
                }
                return
            }
            let result = try InferenceBenchmark(tile: tile, threads: threads, warmupRuns: warmup, measuredRuns: runs,
                                                precision: precision, profileLayers: layers).run(file)
            if json {
                try Self.printJSON(result)
            } else {
                print(String(format: "%@: %d² tile, %d threads: median %.1f ms, %.3f MP/s, peak RSS %.0f MiB",
                             result.architecture.description, tile, threads, result.medianSeconds * 1000,
                             result.megapixelsPerSecond, Double(result.peakResidentBytes) / 1048576))
                print("CPU path: \(result.cpuPath.rawValue); precision: \(result.precision.rawValue); BLAS: \(result.blas)")
                if let entries = result.layers { print(Self.table(entries)) }
            }
        }
        }

    /// Prints `value` as one line of JSON with sorted keys.
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// One line per layer: name, kernel, channels, size, milliseconds, share of the pass, GFLOP/s.
    static func table(_ entries: [LayerProfile.Entry]) -> String {
        let total = entries.reduce(0) { $0 + $1.seconds }
        var lines = ["layer          kernel          in→out       size       ms      %   GFLOP/s"]
        for entry in entries {
            lines.append(String(format: "%-14@ %-15@ %4d→%-6d %4d×%-5d %7.2f %6.1f %8.1f", entry.layer as NSString, entry.kernel as NSString,
                                entry.inputChannels, entry.outputChannels, entry.height, entry.width,
                                entry.seconds * 1000, 100 * entry.seconds / total, entry.gigaflopsPerSecond))
        }
        lines.append(String(format: "total %.2f ms", total * 1000))
        return lines.joined(separator: "\n")
    }
}
