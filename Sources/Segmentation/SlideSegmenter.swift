import Foundation
import SlideIO
import UNetCore
import UNetEngine

/// Progress of one slide, reported after every tile.
public struct SegmentationProgress: Sendable {
    public var tilesDone: Int
    public var tilesTotal: Int
    public var seconds: Double
    public var megapixels: Double
}

/// The pipeline `unet segment` and `unetd` share: slide → balanced tiles → engine → Gaussian-blended
/// stitch → mask / overlay / probability PNGs and a JSON summary, all published atomically.
/// Memory is bounded by one band of tile rows. One segmenter per worker (it owns reusable buffers).
public final class SlideSegmenter {
    public let model: ModelFile
    private let runner: UNetRunner

    /// `precision`: `.auto` resolves for this CPU; the summary names what was used.
    public convenience init(model: ModelFile, threads: Int, precision: Precision = .fp32) throws(CheckpointProblem) {
        self.init(model: model, network: try model.network(precision: precision), threads: threads)
    }

    /// A segmenter on an already built `network` of `model`: several segmenters (one per worker)
    /// share one network's weights, each with its own buffers.
    public init(model: ModelFile, network: UNet, threads: Int) {
        self.model = model
        runner = UNetRunner(network: network, threads: threads)
    }

    /// The arithmetic this segmenter runs in (`fp32` or `bf16`).
    public var precision: Precision { runner.network.precision }

    /// Encoding overlaps inference only while a band's pixels and probabilities (3 + 4 bytes a pixel,
    /// held twice) stay under this: up to about 18,000 px wide at 512-px tiles. Up to about 12,700 px,
    /// the next band's pixels (3 bytes more) are also decoded ahead on the encoder thread.
    static let overlapBudget = 64 << 20
    static let overlapBytesPerPixel = 7
    static let prefetchBytesPerPixel = 3

    /// Segments `slidePath` into `outputDirectory`. Throws `SlideError` naming the file and the problem;
    /// on any failure no output is left behind.
    /// `outputName` names the outputs (`NAME.mask.png`, ...); by default the slide's file name without extension.
    /// `isCancelled` is asked before every tile; when it says yes the run stops with `SlideError.cancelled`
    /// and leaves no outputs.
    /// `provenance` names the slide in the summary (the daemon's original name, not its spool path) and
    /// the earlier slide whose result this one repeats. `beforePublishing` runs once every output is
    /// durable under its temporary name and before any is renamed into place; throwing there publishes nothing.
    public func segment(slidePath: String, outputDirectory: String, options: SegmentationOptions, outputName: String? = nil,
                        provenance: SegmentationSummary.Provenance? = nil,
                        isCancelled: (() -> Bool)? = nil,
                        progress: ((SegmentationProgress) -> Void)? = nil,
                        beforePublishing: (() throws(SlideError) -> Void)? = nil) throws(SlideError) -> SegmentationSummary {
        let clock = ContinuousClock(), started = clock.now
        let plan = try SegmentationPlan(model: model, slidePath: slidePath, outputDirectory: outputDirectory, options: options,
                                        outputName: outputName)
        let pass = TilePass(plan: plan, runner: runner)
        defer { pass.joinEncoder() }
        try pass.run(started: started, isCancelled: isCancelled, progress: progress)
        var timings = pass.timings
        timings.decode += plan.decodeSeconds
        timings.total = (clock.now - started).seconds
        let summary = summary(plan, pass: pass, timings: timings, options: options, provenance: provenance)
        try beforePublishing?()
        try Self.publish(summary, paths: plan.paths, images: plan.outputs)
        return summary
    }

    /// `NAME.result.json`'s figures for a slide that went through.
    private func summary(_ plan: SegmentationPlan, pass: TilePass, timings: SegmentationSummary.Timings, options: SegmentationOptions,
                         provenance: SegmentationSummary.Provenance?) -> SegmentationSummary {
        let slide = plan.slide, outputs = plan.outputs, choice = plan.choice
        var objectFilter = plan.objectFilter
        var timings = timings
        (objectFilter.droppedSmall, objectFilter.droppedLarge, objectFilter.unsplitRegions) = outputs.objectsDropped
        timings.objects = outputs.objectSeconds
        timings.measurements = outputs.measuringSeconds
        let pixels = Double(slide.width * slide.height)
        var summary = SegmentationSummary(
            slide: provenance?.slideName ?? plan.slidePath, duplicateOf: provenance?.duplicateOf, width: slide.width, height: slide.height,
            page: slide.page, pageCount: slide.pageCount,
            networkWidth: plan.networkWidth, networkHeight: plan.networkHeight, tileWidth: plan.grid.tileWidth, tileHeight: plan.grid.tileHeight,
            overlap: options.overlap, tilesRun: pass.tilesRun, tilesSkipped: pass.tilesSkipped,
            model: .init(path: model.path, sha256: model.sha256, architecture: model.metadata.architecture.description),
            precision: runner.network.precision, cpuPath: runner.network.cpuPath,
            preprocessing: plan.preprocessing, threshold: plan.threshold, inputScale: plan.scale,
            slideMPP: choice.slide?.micronsPerPixelX, mppSource: choice.slide?.source, modelMPP: choice.modelMPP,
            objects: outputs.objectCount, objectFilter: objectFilter, warnings: plan.warnings,
            positiveFraction: Double(outputs.positivePixels) / pixels, timings: timings,
            megapixelsPerSecond: pixels / 1e6 / timings.total, outputs: plan.paths.byName,
            overlayWidth: outputs.overlaySize?.width, overlayHeight: outputs.overlaySize?.height, scores: nil)
        let tissueAreaMM2 = choice.slide.map { plan.survey.tissueFraction * pixels * $0.micronsPerPixelX * $0.micronsPerPixelY / 1e6 }
        summary.nuclei = outputs.nucleusSummary.summary(tissueAreaMM2: tissueAreaMM2)
        summary.stainVectors = plan.stainVectors
        if let truth = plan.truth {
            let counts = outputs.confusion
            var scores = SegmentationSummary.Scores(truthPath: truth.path, accuracy: counts.accuracy, dice: counts.dice, iou: counts.iou,
                                                    backgroundAccuracy: counts.backgroundBaselineAccuracy, counts: counts)
            if let objects = outputs.objectScores {
                scores.objects = objects
                scores.objectF1 = objects.f1
                scores.aji = objects.aggregatedJaccard
                scores.pq = objects.panopticQuality
            }
            summary.scores = scores
        }
        return summary
    }

    /// Renames the images into place, writes `NAME.summary.csv`, records its row in the directory's
    /// `summary.csv`, then writes result.json (last, so that its presence means the slide is complete)
    /// and syncs the directory. On any failure, what was published is removed again.
    private static func publish(_ summary: SegmentationSummary, paths: OutputPaths, images: SlideOutputs) throws(SlideError) {
        let data: Data
        do { data = try summary.encoded() } catch { throw SlideError(path: paths.summary, reason: "cannot encode summary: \(error)") }
        let row = SummaryTable.row(name: paths.name, summary: summary, finished: Date())
        try images.publish()
        var written: [String] = []
        do throws(SlideError) {
            for (path, bytes) in [(paths.summaryTable, Array(SummaryTable.text(rows: [row]).utf8)), (paths.summary, [UInt8](data))] {
                if path == paths.summary { try SummaryTable.record(row, in: paths.directory) }
                do { try AtomicFile.write(bytes, to: path) } catch {
                    throw SlideError(path: path, reason: error.description, errorNumber: error.errorNumber)
                }
                written.append(path)
            }
        } catch {
            written.forEach { unlink($0) }
            images.unpublish()
            throw error
        }
    }
}
