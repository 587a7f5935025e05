import SlideIO
import UNetCore
import UNetEngine

/// The one pass over a planned slide: each band of tile rows is decoded, its tiles inferred (glass
/// skipped), stitched, and the finished rows handed to the outputs, at slide resolution.
///
/// At input scale 1, finished rows are encoded on another thread while the next band is decoded and
/// its row of tiles inferred: they wait in `finished` (a copy of their probabilities, a view of the
/// band's pixels, which decoding the next band replaces but does not touch) until then. That holds two
/// bands at once (three when the next is decoded ahead), so only up to `SlideSegmenter.overlapBudget`.
final class TilePass {
    private let plan: SegmentationPlan
    private let runner: UNetRunner
    private let clock = ContinuousClock()
    private(set) var timings = SegmentationSummary.Timings()
    private(set) var tilesRun = 0, tilesSkipped = 0

    private let tileWidth: Int, tileHeight: Int
    private var input: [Float], logits: [Float], probability: [Float]
    private var stitcher: ProbabilityStitcher
    private var upsampler: ProbabilityUpsampler?
    private let tileInput: TileInput
    private var band: SlideBand
    private let overlap: Bool, prefetch: Bool
    private let encoder = OverlappedWork()
    private var finished: [(firstRow: Int, rows: Int, values: [Float], pixels: ArraySlice<UInt8>)] = []
    /// The encoder thread's decoding (CPU seconds), counted as decode rather than encode.
    private var prefetchSeconds = 0.0

    init(plan: SegmentationPlan, runner: UNetRunner) {
        self.plan = plan
        self.runner = runner
        let slide = plan.slide, grid = plan.grid
        tileWidth = grid.tileWidth
        tileHeight = grid.tileHeight
        let classes = runner.network.architecture.classes
        input = [Float](repeating: 0, count: 3 * tileWidth * tileHeight)
        logits = [Float](repeating: 0, count: classes * tileWidth * tileHeight)
        probability = [Float](repeating: 0, count: tileWidth * tileHeight)
        stitcher = ProbabilityStitcher(grid: grid)
        upsampler = plan.scale == 1 ? nil : ProbabilityUpsampler(scale: plan.scale, sourceWidth: slide.width, sourceHeight: slide.height,
                                                                 networkWidth: plan.networkWidth, networkHeight: plan.networkHeight)
        tileInput = TileInput(preprocessing: plan.preprocessing)
        band = SlideBand(slide: slide)
        overlap = plan.scale == 1 && slide.width * tileHeight * SlideSegmenter.overlapBytesPerPixel <= SlideSegmenter.overlapBudget
        prefetch = overlap && slide.width * tileHeight * (SlideSegmenter.overlapBytesPerPixel + SlideSegmenter.prefetchBytesPerPixel)
            <= SlideSegmenter.overlapBudget
    }

    /// Waits for the encoder thread, whatever happened: call it before the outputs or the slide go
    /// (never leave them in another thread's hands).
    func joinEncoder() { _ = try? encoder.join() }

    private func timed<T>(_ stage: WritableKeyPath<SegmentationSummary.Timings, Double>,
                          _ body: () throws(SlideError) -> T) throws(SlideError) -> T {
        let start = clock.now
        defer { timings[keyPath: stage] += (clock.now - start).seconds }
        return try body()
    }

    /// Runs every tile and finishes the outputs' files (fsync included), unpublished.
    func run(started: ContinuousClock.Instant, isCancelled: (() -> Bool)?, progress: ((SegmentationProgress) -> Void)?) throws(SlideError) {
        let grid = plan.grid, rowOrigins = grid.rowOrigins, megapixels = Double(plan.slide.width * plan.slide.height) / 1e6
        for (index, y) in rowOrigins.enumerated() {
            try encoder.join()  // the outputs and the slide are the encoder's until then
            try stitcher.advance(to: y, split: runner.split, emit: deliver)  // emitting is timed as decode + encode
            let rows = min(tileHeight, plan.networkHeight - y)
            if !prefetch { encodeFinished() }  // while this thread decodes the band
            let networkBand = try timed(\.decode) { () throws(SlideError) in
                try band.networkRows(y, count: rows, scale: plan.scale, networkWidth: plan.networkWidth)  // decoded ahead after the first
            }
            if prefetch {
                let next = index + 1 < rowOrigins.count ? rowOrigins[index + 1] : nil
                encodeFinished(thenDecode: next.map { ($0, min(tileHeight, plan.networkHeight - $0)) })
            }
            for x in grid.columnOrigins {
                if isCancelled?() == true { throw SlideError.cancelled(path: plan.slidePath) }
                try runTile(networkBand, x: x, y: y, rows: rows)
                progress?(SegmentationProgress(tilesDone: tilesRun + tilesSkipped, tilesTotal: grid.tileCount,
                                               seconds: (clock.now - started).seconds, megapixels: megapixels))
            }
        }
        try encoder.join()
        try stitcher.advance(to: plan.networkHeight, split: runner.split, emit: deliver)
        if var resampler = upsampler {
            try resampler.finish { (first, count, values) throws(SlideError) in try write(first, count, values) }
        }
        try finishOutputs()
    }

    /// One tile: skipped as glass, or preprocessed, inferred and stitched.
    private func runTile(_ networkBand: RGBImage, x: Int, y: Int, rows: Int) throws(SlideError) {
        let columns = min(tileWidth, plan.networkWidth - x)
        if let tissue = plan.tissue, !tissue.hasTissue(networkBand, x: x, width: columns, height: rows) {
            try timed(\.stitch) { stitcher.add(nil, x: x, y: y, rows: rows, columns: columns) }
            tilesSkipped += 1
            return
        }
        let tileWidth = self.tileWidth, tileHeight = self.tileHeight, runner = self.runner, tileInput = self.tileInput
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

    /// Starts the encoder on the finished rows, then on decoding the band `[y, y + count)` ahead.
    /// With `next`, call it only where this thread leaves the slide alone until the next `join`.
    private func encodeFinished(thenDecode next: (y: Int, count: Int)? = nil) {
        guard !finished.isEmpty || next != nil else { return }
        let chunks = finished, outputs = plan.outputs
        finished = []
        encoder.start { () throws(SlideError) in
            for chunk in chunks {
                try chunk.values.withUnsafeBufferPointer { (values) throws(SlideError) in
                    try outputs.consume(firstRow: chunk.firstRow, rows: chunk.rows, probabilities: values, pixels: chunk.pixels)
                }
            }
            if let next {
                let start = OverlappedWork.threadCPUSeconds()
                try self.band.prefetch(next.y, count: next.count)
                self.prefetchSeconds += OverlappedWork.threadCPUSeconds() - start
            }
        }
    }

    /// Finished network rows → slide resolution → output files.
    private func deliver(_ firstRow: Int, _ rows: Int, _ values: UnsafeBufferPointer<Float>) throws(SlideError) {
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

    private func write(_ firstRow: Int, _ rows: Int, _ values: UnsafeBufferPointer<Float>) throws(SlideError) {
        let pixels = try timed(\.decode) { () throws(SlideError) in try band.rows(firstRow, count: rows) }
        let outputs = plan.outputs
        try timed(\.encode) { () throws(SlideError) in try outputs.consume(firstRow: firstRow, rows: rows, probabilities: values, pixels: pixels) }
    }

    /// Nothing is left to infer, so the last rows are encoded and the files finished (fsync included)
    /// on two threads at once: the overlay, the larger part, on the encoder's, the rest on this one.
    private func finishOutputs() throws(SlideError) {
        let lastChunks = finished, outputs = plan.outputs
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
    }
}
