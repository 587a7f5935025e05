import ArgumentParser
import DefaultModel
import Foundation
import Segmentation
import SlideIO
import UNetCore
import UNetEngine

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment slides: NAME.mask.png, NAME.overlay.png, NAME.result.json (and NAME.prob.png).",
        discussion: "Ground truth beside a slide (NAME.json in BreCaHAD format, or NAME.truth.png) adds accuracy, Dice and IoU to the summary. Exits 0 only when every slide succeeded.")

    @Option(help: "Model file (.pth or .safetensors); default: the embedded default model.") var model: String?
    @Option(help: "Output directory.") var out = "."
    @Option(help: "Largest tile side in network pixels.") var tile = 512
    @Option(help: "Minimum overlap between tiles in network pixels.") var overlap = 32
    @Option(help: "Foreground probability threshold (default: the model's).") var threshold: Float?
    @Option(help: "Channel order the network expects (rgb|bgr; default: the model's).") var channelOrder: ChannelOrder?
    @Option(help: "Scale at which the network sees the slide (default: the model's, usually 1).") var inputScale: Double?
    @Flag(help: "Also write NAME.prob.png (round(255·p)).") var probabilities = false
    @Flag(help: "Skip tiles without tissue (Otsu on saturation).") var skipBackground = false
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Ground truth file (BreCaHAD .json or mask .png) for a single slide.") var truth: String?
    @Option(help: "BreCaHAD classes drawn as foreground, comma-separated.") var truthClasses = "tumor"
    @Option(help: "Radius of BreCaHAD points in pixels.") var truthRadius = 20
    @Option(help: "Overlays are downscaled beyond this side.") var overlayMaxSide = 8192
    @Option(help: "Refuse slides with more pixels than this.") var maxPixels = 10_000_000_000
    @Argument(help: "Slides (.tif, .tiff, .svs).") var slides: [String]

    func validate() throws {
        guard tile >= 16, overlap >= 0, overlap < tile / 2 else { throw ValidationError("--tile must be ≥ 16 and --overlap in [0, tile/2)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard truth == nil || slides.count == 1 else { throw ValidationError("--truth applies to a single slide") }
    }

    func run() throws {
        var failures = 0
        try reportingErrors {
            let modelFile = try DefaultModel.load(explicitPath: model)
            let segmenter = try SlideSegmenter(model: modelFile, threads: threads)
            var options = SegmentationOptions(tile: tile, overlap: overlap, threshold: threshold, channelOrder: channelOrder,
                                              inputScale: inputScale, writeProbabilities: probabilities, threads: threads,
                                              overlayMaximumSide: overlayMaxSide, skipBackground: skipBackground,
                                              limits: SlideLimits(maximumPixels: maxPixels))
            options.truth = GroundTruthOptions(path: truth, classes: truthClasses.split(separator: ",").map(String.init), radius: truthRadius)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for slide in slides {
                let bar = ProgressBar(label: URL(fileURLWithPath: slide).lastPathComponent)
                do {
                    let summary = try segmenter.segment(slidePath: slide, outputDirectory: out, options: options, progress: bar.update)
                    bar.clear()
                    var line = String(format: "%@: %d×%d, %d tiles (%d skipped), %.1f%% positive, %.2f MP/s",
                                      slide, summary.width, summary.height, summary.tilesRun + summary.tilesSkipped,
                                      summary.tilesSkipped, summary.positiveFraction * 100, summary.megapixelsPerSecond)
                    if let scores = summary.scores { line += String(format: ", Dice %.4f, IoU %.4f, accuracy %.4f", scores.dice, scores.iou, scores.accuracy) }
                    print(line)
                } catch {
                    bar.clear()
                    failures += 1
                    var stderr = StandardError()
                    print("error: \(error)", to: &stderr)
                }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
