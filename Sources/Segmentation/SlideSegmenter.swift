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
        var timings = SegmentationSummary.Timings()
        func timed<T>(_ stage: WritableKeyPath<SegmentationSummary.Timings, Double>, _ body: () throws(SlideError) -> T) throws(SlideError) -> T {
            let start = clock.now
            defer { timings[keyPath: stage] += (clock.now - start).seconds }
            return try body()
        }

        let slide = try timed(\.decode) { () throws(SlideError) in try TIFFSlide(path: slidePath, limits: options.limits) }
        let metadata = model.metadata
        var preprocessing = metadata.preprocessing
        if let order = options.channelOrder { preprocessing.channelOrder = order }
        let threshold = options.threshold ?? metadata.threshold
        let choice = try ScaleChoice(slidePath: slidePath, fileScale: slide.physicalScale, modelMPP: metadata.micronsPerPixel,
                                     modelInputScale: metadata.inputScale, options: options)
        let scale = choice.inputScale
        let networkWidth = max(1, Int((Double(slide.width) * scale).rounded()))
        let networkHeight = max(1, Int((Double(slide.height) * scale).rounded()))
        let grid = TileGrid(imageWidth: networkWidth, imageHeight: networkHeight, maximumTile: options.tile, overlap: options.overlap,
                            multiple: UNet.minimumInputSide)

        var kinds = OutputKind.resolve(options.outputs, width: slide.width, height: slide.height)
        if options.writeProbabilities { kinds.insert(.prob) }
        let paths = OutputPaths(slide: slidePath, directory: outputDirectory, kinds: kinds, name: outputName)
        let truth = try GroundTruth.locate(for: slidePath, width: slide.width, height: slide.height, options: options.truth)
        try Self.checkOutputsSpareInputs(paths, inputs: [slidePath] + (truth.map { [$0.path] } ?? []))
        // One pass over the slide finds its tissue (to skip glass, and for the tissue area) and samples its stains.
        let survey = try timed(\.decode) { () throws(SlideError) in try TissueDetector(slide: slide) }
        let tissue = options.skipBackground ? survey : nil
        let stainVectors = StainVectors.macenko(rgb: survey.stainSample)
        var warnings = choice.warnings
        let separation = metadata.objects ?? (options.splitTouching ? .splitTouching : .components)
        var objectFilter = ObjectFilter.resolve(minimum: options.minimumObjectArea, maximum: options.maximumObjectArea,
                                                separation: separation, scale: choice.slide, warnings: &warnings)
        let objects = ObjectDescription(objectType: options.objectType, className: metadata.foregroundClassName,
                                        minimumArea: objectFilter.minimumAreaPixels, maximumArea: objectFilter.maximumAreaPixels,
                                        separation: separation)
        let outputs = try SlideOutputs(paths: paths, width: slide.width, height: slide.height, threshold: threshold,
                                       overlayMaximumSide: options.overlayMaximumSide, truth: truth, scale: choice.slide, objects: objects,
                                       stains: stainVectors)

        let tileWidth = grid.tileWidth, tileHeight = grid.tileHeight, classes = model.metadata.architecture.classes
        var input = [Float](repeating: 0, count: 3 * tileWidth * tileHeight)
        var logits = [Float](repeating: 0, count: classes * tileWidth * tileHeight)
        var probability = [Float](repeating: 0, count: tileWidth * tileHeight)
        var stitcher = ProbabilityStitcher(grid: grid)
        var upsampler = scale == 1 ? nil : ProbabilityUpsampler(scale: scale, sourceWidth: slide.width, sourceHeight: slide.height,
                                                                networkWidth: networkWidth, networkHeight: networkHeight)
        let tileInput = TileInput(preprocessing: preprocessing)
        var band = SlideBand(slide: slide)
        var tilesRun = 0, tilesSkipped = 0

        // At input scale 1, finished rows are encoded on another thread while the next band is decoded
        // and its row of tiles inferred: they wait in `finished` (a copy of their probabilities, a view
        // of the band's pixels, which decoding the next band replaces but does not touch) until then.
        // That holds two bands at once (three when the next is decoded ahead), so only up to `overlapBudget`.
        let overlap = scale == 1 && slide.width * tileHeight * Self.overlapBytesPerPixel <= Self.overlapBudget
        let prefetch = overlap && slide.width * tileHeight * (Self.overlapBytesPerPixel + Self.prefetchBytesPerPixel) <= Self.overlapBudget
        let encoder = OverlappedWork()
        defer { _ = try? encoder.join() }  // never leave the outputs (or the slide) in another thread's hands
        var finished: [(firstRow: Int, rows: Int, values: [Float], pixels: ArraySlice<UInt8>)] = []
        var prefetchSeconds = 0.0  // the encoder thread's decoding (CPU seconds), counted as decode rather than encode
        // Starts the encoder on the finished rows, then on decoding the band `[y, y + count)` ahead.
        // With `next`, call it only where this thread leaves the slide alone until the next `join`.
        func encodeFinished(thenDecode next: (y: Int, count: Int)? = nil) {
            guard !finished.isEmpty || next != nil else { return }
            let chunks = finished
            finished = []
            encoder.start { () throws(SlideError) in
                for chunk in chunks {
                    try chunk.values.withUnsafeBufferPointer { (values) throws(SlideError) in
                        try outputs.consume(firstRow: chunk.firstRow, rows: chunk.rows, probabilities: values, pixels: chunk.pixels)
                    }
                }
                if let next {
                    let start = OverlappedWork.threadCPUSeconds()
                    try band.prefetch(next.y, count: next.count)
                    prefetchSeconds += OverlappedWork.threadCPUSeconds() - start
                }
            }
        }

        // Finished network rows → slide resolution → output files.
        func deliver(_ firstRow: Int, _ rows: Int, _ values: UnsafeBufferPointer<Float>) throws(SlideError) {
            if overlap {
                let pixels = try timed(\.decode) { () throws(SlideError) in try band.rows(firstRow, count: rows) }
                finished.append((firstRow, rows, Array(values), pixels))
                return
            }
            if var resampler = upsampler {
                try resampler.push(firstRow: firstRow, rows: rows, values: values) { (first, count, sourceValues) throws(SlideError) in
                    try write(first, count, sourceValues)
                }
                upsampler = resampler
            } else {
                try write(firstRow, rows, values)
            }
        }
        func write(_ firstRow: Int, _ rows: Int, _ values: UnsafeBufferPointer<Float>) throws(SlideError) {
            let pixels = try timed(\.decode) { () throws(SlideError) in try band.rows(firstRow, count: rows) }
            try timed(\.encode) { () throws(SlideError) in try outputs.consume(firstRow: firstRow, rows: rows, probabilities: values, pixels: pixels) }
        }

        let rowOrigins = grid.rowOrigins
        for (index, y) in rowOrigins.enumerated() {
            try encoder.join()  // the outputs and the slide are the encoder's until then
            try stitcher.advance(to: y, split: runner.split, emit: deliver)  // emitting is timed as decode + encode
            let rows = min(tileHeight, networkHeight - y)
            if !prefetch { encodeFinished() }  // while this thread decodes the band
            let networkBand = try timed(\.decode) { () throws(SlideError) in
                try band.networkRows(y, count: rows, scale: scale, networkWidth: networkWidth)  // decoded ahead after the first
            }
            if prefetch {
                let next = index + 1 < rowOrigins.count ? rowOrigins[index + 1] : nil
                encodeFinished(thenDecode: next.map { ($0, min(tileHeight, networkHeight - $0)) })
            }
            for x in grid.columnOrigins {
                if isCancelled?() == true { throw SlideError.cancelled(path: slidePath) }
                let columns = min(tileWidth, networkWidth - x)
                if let tissue, !tissue.hasTissue(networkBand, x: x, width: columns, height: rows) {
                    try timed(\.stitch) { stitcher.add(nil, x: x, y: y, rows: rows, columns: columns) }
                    tilesSkipped += 1
                } else {
                    try timed(\.preprocess) {
                        input.withUnsafeMutableBufferPointer { input in
                            runner.split(count: tileHeight) { rows in
                                tileInput.fill(input.baseAddress!, width: tileWidth, height: tileHeight, from: networkBand, x: x, y: 0, rows: rows)
                            }
                        }
                    }
                    try timed(\.inference) {
                        input.withUnsafeBufferPointer { source in
                            logits.withUnsafeMutableBufferPointer { destination in
                                runner.logits(input: source.baseAddress!, height: tileHeight, width: tileWidth, into: destination.baseAddress!)
                            }
                        }
                        logits.withUnsafeBufferPointer { source in
                            probability.withUnsafeMutableBufferPointer { destination in
                                runner.probability(logits: source.baseAddress!, plane: tileWidth * tileHeight, into: destination.baseAddress!)
                            }
                        }
                    }
                    try timed(\.stitch) {
                        probability.withUnsafeBufferPointer {
                            stitcher.add($0.baseAddress!, x: x, y: y, rows: rows, columns: columns, split: runner.split)
                        }
                    }
                    tilesRun += 1
                }
                progress?(SegmentationProgress(tilesDone: tilesRun + tilesSkipped, tilesTotal: grid.tileCount,
                                               seconds: (clock.now - started).seconds,
                                               megapixels: Double(slide.width * slide.height) / 1e6))
            }
        }
        try encoder.join()
        try stitcher.advance(to: networkHeight, split: runner.split, emit: deliver)
        if var resampler = upsampler {
            try resampler.finish { (first, count, values) throws(SlideError) in try write(first, count, values) }
        }
        // Nothing is left to infer, so the last rows are encoded and the files finished (fsync included)
        // on two threads at once: the overlay, the larger part, on the encoder's, the rest on this one.
        let lastChunks = finished
        finished = []
        encoder.start { () throws(SlideError) in
            for chunk in lastChunks {
                try chunk.values.withUnsafeBufferPointer { (values) throws(SlideError) in
                    try outputs.consumeOverlay(rows: chunk.rows, probabilities: values, pixels: chunk.pixels)
                }
            }
            try outputs.finishOverlay()
        }
        try timed(\.encode) { () throws(SlideError) in
            for chunk in lastChunks {
                try chunk.values.withUnsafeBufferPointer { (values) throws(SlideError) in
                    try outputs.consumeExceptOverlay(firstRow: chunk.firstRow, rows: chunk.rows, probabilities: values, pixels: chunk.pixels)
                }
            }
            try outputs.finishExceptOverlay()
        }
        timings.encode += try encoder.join() - prefetchSeconds
        timings.decode += prefetchSeconds

        timings.total = (clock.now - started).seconds
        (objectFilter.droppedSmall, objectFilter.droppedLarge, objectFilter.unsplitRegions) = outputs.objectsDropped
        timings.objects = outputs.objectSeconds
        timings.measurements = outputs.measuringSeconds
        let pixels = Double(slide.width * slide.height)
        var summary = SegmentationSummary(
            slide: provenance?.slideName ?? slidePath, duplicateOf: provenance?.duplicateOf, width: slide.width, height: slide.height, page: slide.page, pageCount: slide.pageCount,
            networkWidth: networkWidth, networkHeight: networkHeight, tileWidth: tileWidth, tileHeight: tileHeight,
            overlap: options.overlap, tilesRun: tilesRun, tilesSkipped: tilesSkipped,
            model: .init(path: model.path, sha256: model.sha256, architecture: model.metadata.architecture.description),
            precision: runner.network.precision, cpuPath: runner.network.cpuPath,
            preprocessing: preprocessing, threshold: threshold, inputScale: scale,
            slideMPP: choice.slide?.micronsPerPixelX, mppSource: choice.slide?.source, modelMPP: choice.modelMPP,
            objects: outputs.objectCount, objectFilter: objectFilter, warnings: warnings,
            positiveFraction: Double(outputs.positivePixels) / pixels, timings: timings,
            megapixelsPerSecond: pixels / 1e6 / timings.total, outputs: paths.byName,
            overlayWidth: outputs.overlaySize?.width, overlayHeight: outputs.overlaySize?.height, scores: nil)
        let tissueAreaMM2 = choice.slide.map { survey.tissueFraction * pixels * $0.micronsPerPixelX * $0.micronsPerPixelY / 1e6 }
        summary.nuclei = outputs.nucleusSummary.summary(tissueAreaMM2: tissueAreaMM2)
        summary.stainVectors = stainVectors
        if let truth {
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
        try beforePublishing?()
        try Self.publish(summary, paths: paths, images: outputs)
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

    private static func checkOutputsSpareInputs(_ paths: OutputPaths, inputs: [String]) throws(SlideError) {
        let resolved = Set(inputs.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path })
        for output in paths.all where resolved.contains(URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path) {
            throw SlideError(path: output, reason: "output would overwrite an input; choose another --out directory")
        }
    }
}
