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
        abstract: "Segment slides: mask, overlay, QuPath GeoJSON, object table, pyramidal mask TIFF and NAME.result.json.",
        discussion: """
            Outputs (--outputs): mask (NAME.mask.png, sides up to 30,000 px; beyond, the pyramid), overlay (NAME.overlay.png), \
            prob (NAME.prob.png), geojson (NAME.geojson), objects (NAME.objects.csv), pyramid (NAME.mask.tif). \
            Default: mask,overlay,geojson,objects, plus pyramid when a side exceeds 10,000 px.
            Physical scale: with --mpp auto the slide is resampled by slide MPP / model MPP when both are known \
            (the slide's from its Aperio or OME description or resolution tags, or --slide-mpp).
            Ground truth beside a slide (NAME.json in BreCaHAD format, or NAME.truth.png) adds accuracy, Dice and IoU \
            to the summary. Exits 0 only when every slide succeeded.
            Job arrays: --shard I/N (or, in a Slurm array task, SLURM_ARRAY_TASK_ID/MIN/COUNT) keeps the slides whose \
            file-name hash falls in shard I; --skip-existing skips slides whose NAME.result.json names the same model; \
            --status-csv writes one row per slide (slide, outcome, seconds, error) at the end.
            """)

    @Option(help: "Model file (.pth or .safetensors); default: the embedded default model.") var model: String?
    @Option(help: "Output directory.") var out = "."
    @Option(help: "Largest tile side in network pixels.") var tile = 512
    @Option(help: "Minimum overlap between tiles in network pixels.") var overlap = 32
    @Option(help: "Foreground probability threshold (default: the model's).") var threshold: Float?
    @Option(help: "Channel order the network expects (rgb|bgr; default: the model's).") var channelOrder: ChannelOrder?
    @Option(help: "Scale at which the network sees the slide (default: the model's, usually 1).") var inputScale: Double?
    @Flag(help: "Also write NAME.prob.png (round(255·p)); the same as adding prob to --outputs.") var probabilities = false
    @Option(help: "Outputs, comma-separated: mask,overlay,prob,geojson,objects,pyramid.") var outputs: String?
    @Option(help: "auto: resample by slide MPP / model MPP when both are known; off: ignore MPP.") var mpp: MPPMode = .auto
    @Option(help: "The slide's µm per pixel, overriding its file.") var slideMpp: Double?
    @Flag(help: "Refuse a slide when its MPP or the model's is unknown (under --mpp auto).") var requireMpp = false
    @Option(help: "GeoJSON object type: detection|annotation.") var geojsonObjectType: ObjectDescription.ObjectType = .detection
    @Option(help: "Leave smaller objects out of the GeoJSON, CSV and count: pixels (8, 8px) or µm² (10um2). Default: 10um2 when the slide's MPP is known, else 8px.")
    var minObjectArea: String?
    @Option(help: "Leave larger objects out too, in pixels or µm² (e.g. 400um2). Default: no bound.") var maxObjectArea: String?
    @Flag(help: "Split a binary model's touching objects at the saddles of their distance transform (instance models split their own).")
    var splitTouching = false
    @Flag(help: "Skip tiles without tissue (Otsu on saturation).") var skipBackground = false
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Arithmetic: fp32, bf16, or auto (bf16 where the CPU has native bf16 dot products).") var precision: Precision = .fp32
    @Option(help: "Ground truth file (BreCaHAD .json or mask .png) for a single slide.") var truth: String?
    @Option(help: "BreCaHAD classes drawn as foreground, comma-separated.") var truthClasses = "tumor"
    @Option(help: "Radius of BreCaHAD points in pixels.") var truthRadius = 20
    @Option(help: "Overlays are downscaled beyond this side.") var overlayMaxSide = 8192
    @Option(help: "Refuse slides with more pixels than this.") var maxPixels = 10_000_000_000
    @Option(help: "Process only shard I of N (0 ≤ I < N) of the slides, by a stable hash of their file names; default in a Slurm array task: the task's shard.")
    var shard: String?
    @Flag(help: "Skip slides whose NAME.result.json in --out already names this model's sha256.") var skipExisting = false
    @Option(help: "Write slide,outcome,seconds,error for every slide of this run to FILE (atomically, at the end).") var statusCsv: String?
    @Argument(help: "Slides (.tif, .tiff, .svs).") var slides: [String]

    func validate() throws {
        guard tile >= 16, overlap >= 0, overlap < tile / 2 else { throw ValidationError("--tile must be ≥ 16 and --overlap in [0, tile/2)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard truth == nil || slides.count == 1 else { throw ValidationError("--truth applies to a single slide") }
        if let outputs { do { _ = try OutputKind.parseList(outputs) } catch { throw ValidationError("--outputs: \(error)") } }
        guard slideMpp.map({ $0 > 0 && $0.isFinite }) ?? true else { throw ValidationError("--slide-mpp must be a positive number of µm per pixel") }
        for (flag, value) in [("--min-object-area", minObjectArea), ("--max-object-area", maxObjectArea)] where value != nil {
            guard ObjectAreaLimit(value!) != nil else { throw ValidationError("\(flag) must be a number of pixels (8, 8px) or µm² (10um2), not '\(value!)'") }
        }
        if let shard { do { _ = try SlideShard(parsing: shard) } catch { throw ValidationError(error.description) } }
    }

    func run() throws {
        var failures = 0
        try reportingErrors {
            let modelFile = try DefaultModel.load(explicitPath: model)
            let segmenter = try SlideSegmenter(model: modelFile, threads: threads, precision: precision)
            var options = SegmentationOptions(tile: tile, overlap: overlap, threshold: threshold, channelOrder: channelOrder,
                                              inputScale: inputScale, writeProbabilities: probabilities, threads: threads,
                                              overlayMaximumSide: overlayMaxSide, skipBackground: skipBackground,
                                              limits: SlideLimits(maximumPixels: maxPixels))
            options.outputs = try outputs.map { try OutputKind.parseList($0) }
            options.mpp = mpp
            options.slideMPP = slideMpp
            options.requireMPP = requireMpp
            options.objectType = geojsonObjectType
            options.minimumObjectArea = minObjectArea.flatMap(ObjectAreaLimit.init)
            options.maximumObjectArea = maxObjectArea.flatMap(ObjectAreaLimit.init)
            options.splitTouching = splitTouching
            options.truth = GroundTruthOptions(path: truth, classes: truthClasses.split(separator: ",").map(String.init), radius: truthRadius)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var batch = SlideBatch(segmenter: segmenter, options: options, outputDirectory: out)
            batch.shard = try shard.map { try SlideShard(parsing: $0) } ?? SlideShard.fromSlurm(ProcessInfo.processInfo.environment)
            batch.skipExisting = skipExisting
            var stderr = StandardError()
            if let shard = batch.shard { print("shard \(shard): \(batch.owned(slides).count) of \(slides.count) slides", to: &stderr) }
            var bar: ProgressBar?
            let rows = batch.run(slides, progress: { slide, progress in
                if bar == nil { bar = ProgressBar(label: URL(fileURLWithPath: slide).lastPathComponent) }
                bar?.update(progress)
            }, finished: { row in
                bar?.clear()
                bar = nil
                Self.report(row)
            })
            failures = rows.filter { $0.outcome == .failed }.count
            if let statusCsv {
                try AtomicFile.write(Array(SlideBatch.statusCSV(rows).utf8), to: statusCsv)
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// One line per slide on stdout (warnings and the `error:` line on stderr).
    private static func report(_ row: SlideBatch.Row) {
        var stderr = StandardError()
        switch row.outcome {
        case .skipped:
            print("\(row.slide): skipped, its result.json names this model")
        case .failed:
            print("error: \(row.error ?? "failed")", to: &stderr)
        case .segmented:
            guard let summary = row.summary else { return }
            var line = String(format: "%@: %d×%d, %d tiles (%d skipped), %.1f%% positive, %.2f MP/s",
                              row.slide, summary.width, summary.height, summary.tilesRun + summary.tilesSkipped,
                              summary.tilesSkipped, summary.positiveFraction * 100, summary.megapixelsPerSecond)
            if summary.objects > 0 { line += ", \(summary.objects) objects" }
            if let scores = summary.scores { line += String(format: ", Dice %.4f, IoU %.4f, accuracy %.4f", scores.dice, scores.iou, scores.accuracy) }
            print(line)
            for warning in summary.warnings { print("warning: \(row.slide): \(warning)", to: &stderr) }
        }
    }
}

extension MPPMode: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension ObjectDescription.ObjectType: ExpressibleByArgument {}
