import Foundation
import SlideIO
import UNetCore

/// The files one segmented slide produces (the kinds chosen in `OutputPaths`), fed row by row, and
/// the counts gathered on the way (positives, objects; confusion against truth when there is some).
/// Nothing is visible under its final name until `publish()`, and then all or nothing.
final class SlideOutputs {
    let width: Int, height: Int
    let threshold: Float
    private let mask: PNGRowWriter?
    private let probability: PNGRowWriter?
    private let overlay: OverlayWriter?
    private let pyramid: PyramidTIFFWriter?
    private let objects: ObjectWriter
    private let truth: GroundTruth?
    private(set) var positivePixels = 0
    /// CPU seconds spent finding, splitting, measuring and writing objects (part of `encode`), and of
    /// those, deconvolving the objects' pixels into stains.
    private(set) var objectSeconds = 0.0
    private var stainSeconds = 0.0
    /// CPU seconds of measuring (part of `objectSeconds`).
    var measuringSeconds: Double { stainSeconds + objects.measuringSeconds }
    private(set) var confusion = ConfusionCounts()
    /// With instance truth: the objects as written, rasterised into a label map, scored at `finish`.
    private var predictedLabels: [Int32] = []
    private(set) var objectScores: ObjectMetrics?
    private var maskRow: [UInt8]
    private var probabilityRow: [UInt8]
    /// Colour deconvolution for the objects' stain measurements (nil: none measured), and its row buffer.
    private let stains: StainDeconvolution?
    private var stainRow: [SIMD2<Float>]
    private var truthRow: [Bool]
    private var published: [String] = []

    init(paths: OutputPaths, width: Int, height: Int, threshold: Float, overlayMaximumSide: Int, truth: GroundTruth?,
         scale: PhysicalScale?, objects: ObjectDescription, stains: StainVectors? = nil) throws(SlideError) {
        self.width = width
        self.stains = stains.map(StainDeconvolution.init)
        stainRow = [SIMD2<Float>](repeating: .zero, count: stains == nil ? 0 : width)
        self.height = height
        self.threshold = threshold
        self.truth = truth
        mask = try paths[.mask].map { (path) throws(SlideError) in
            try PNGRowWriter(path: path, width: width, height: height, channels: 1, content: .labels)
        }
        probability = try paths[.prob].map { (path) throws(SlideError) in try PNGRowWriter(path: path, width: width, height: height, channels: 1) }
        overlay = try paths[.overlay].map { (path) throws(SlideError) in
            try OverlayWriter(path: path, width: width, height: height, threshold: threshold, maximumSide: overlayMaximumSide,
                              separation: objects.separation)
        }
        pyramid = try paths[.pyramid].map { (path) throws(SlideError) in
            try PyramidTIFFWriter(path: path, width: width, height: height,
                                  micronsPerPixel: scale.map { ($0.micronsPerPixelX, $0.micronsPerPixelY) })
        }
        self.objects = try ObjectWriter(geojsonPath: paths[.geojson], tablePath: paths[.objects], description: objects, scale: scale)
        maskRow = [UInt8](repeating: 0, count: width)
        probabilityRow = maskRow
        truthRow = [Bool](repeating: false, count: width)
        if truth?.instances != nil {
            predictedLabels = [Int32](repeating: 0, count: width * height)
            self.objects.onWritten = { [unowned self] object, id in
                PolygonRaster.fill(rings: object.rings.map { $0.map { (x: $0.x, y: $0.y) } }, id: id, into: &predictedLabels, width: width, height: height)
            }
        }
    }

    var overlaySize: (width: Int, height: Int)? { overlay.map { ($0.outputWidth, $0.outputHeight) } }
    var objectCount: Int { objects.count }
    /// The objects written, summarised (tissue area aside).
    var nucleusSummary: NucleusSummary.Accumulator { objects.summary }
    /// Objects the area bounds left out (small, large), and regions too large to split.
    var objectsDropped: (small: Int, large: Int, unsplit: Int) { (objects.droppedSmall, objects.droppedLarge, objects.unsplitRegions) }

    /// Consumes finished rows: probabilities (`rows × width`) and the slide pixels of the same rows (RGB).
    func consume(firstRow: Int, rows: Int, probabilities: UnsafeBufferPointer<Float>, pixels: ArraySlice<UInt8>) throws(SlideError) {
        try consumeExceptOverlay(firstRow: firstRow, rows: rows, probabilities: probabilities, pixels: pixels)
        try consumeOverlay(rows: rows, probabilities: probabilities, pixels: pixels)
    }

    /// The part of `consume` that feeds every output but the overlay. It shares no state with
    /// `consumeOverlay`, so the two may run on two threads at once (each fed its rows in order).
    func consumeExceptOverlay(firstRow: Int, rows: Int, probabilities: UnsafeBufferPointer<Float>, pixels: ArraySlice<UInt8>) throws(SlideError) {
        let threshold = threshold
        for row in 0..<rows {
            let values = UnsafeBufferPointer(rebasing: probabilities[(row * width)..<((row + 1) * width)])
            positivePixels += maskRow.withUnsafeMutableBufferPointer { mask in
                var positives = 0
                for x in mask.indices {
                    let positive = values[x] >= threshold
                    mask[x] = positive ? 255 : 0
                    positives &+= positive ? 1 : 0
                }
                return positives
            }
            if let truth {
                truthRow.withUnsafeMutableBufferPointer { truth.fill(row: firstRow + row, into: $0) }
                for x in 0..<width { confusion.add(predicted: maskRow[x] != 0, truth: truthRow[x]) }
            }
            if let stains {
                let start = OverlappedWork.threadCPUSeconds()
                let rowStart = pixels.startIndex + row * width * 3
                for x in 0..<width where maskRow[x] != 0 {  // only where objects are
                    let index = rowStart + 3 * x
                    stainRow[x] = stains.stains(red: pixels[index], green: pixels[index + 1], blue: pixels[index + 2])
                }
                let seconds = OverlappedWork.threadCPUSeconds() - start
                objectSeconds += seconds
                stainSeconds += seconds
            }
            try maskRow.withUnsafeBufferPointer { (row) throws(SlideError) in
                try mask?.write(row: row)
                try pyramid?.write(row: row)
                let start = OverlappedWork.threadCPUSeconds()
                defer { objectSeconds += OverlappedWork.threadCPUSeconds() - start }
                guard stains != nil else { return try objects.add(mask: row, probabilities: values, stains: nil) }
                try stainRow.withUnsafeBufferPointer { (stainValues) throws(SlideError) in
                    try objects.add(mask: row, probabilities: values, stains: stainValues)
                }
            }
            if let probability {
                for x in 0..<width { probabilityRow[x] = UInt8((min(max(values[x], 0), 1) * 255).rounded()) }
                try probabilityRow.withUnsafeBufferPointer { (row) throws(SlideError) in try probability.write(row: row) }
            }
        }
    }

    /// The overlay's part of `consume` (see `consumeExceptOverlay`).
    func consumeOverlay(rows: Int, probabilities: UnsafeBufferPointer<Float>, pixels: ArraySlice<UInt8>) throws(SlideError) {
        guard let overlay else { return }
        try pixels.withUnsafeBufferPointer { (rgb) throws(SlideError) in
            for row in 0..<rows {
                try overlay.add(pixels: UnsafeBufferPointer(rebasing: rgb[(row * width * 3)..<((row + 1) * width * 3)]),
                                probabilities: UnsafeBufferPointer(rebasing: probabilities[(row * width)..<((row + 1) * width)]))
            }
        }
    }

    /// Finishes every file (flushed and fsynced, still under temporary names).
    func finish() throws(SlideError) {
        try finishExceptOverlay()
        try finishOverlay()
    }

    /// `finish` for what `consumeExceptOverlay` feeds.
    func finishExceptOverlay() throws(SlideError) {
        try mask?.finish()
        try probability?.finish()
        try pyramid?.finish()
        let start = OverlappedWork.threadCPUSeconds()
        try objects.finish()
        objectSeconds += OverlappedWork.threadCPUSeconds() - start
        if let instances = truth?.instances {
            objectScores = ObjectMetrics.compare(truth: instances, prediction: predictedLabels)
            predictedLabels = []
        }
    }

    /// `finish` for the overlay.
    func finishOverlay() throws(SlideError) { try overlay?.finish() }

    /// Renames every file into place; if one rename fails, those already renamed are removed again,
    /// so the slide has all its outputs or none.
    func publish() throws(SlideError) {
        do throws(SlideError) {
            if let mask { try mask.publish(); published.append(mask.path) }
            if let probability { try probability.publish(); published.append(probability.path) }
            if let overlay { try overlay.publish(); published.append(overlay.path) }
            if let pyramid { try pyramid.publish(); published.append(pyramid.path) }
            try objects.publish(); published += objects.paths
        } catch {
            unpublish()
            throw error
        }
    }

    /// Removes published files (when the summary, written last, could not be).
    func unpublish() {
        published.forEach { unlink($0) }
        published = []
    }
}

/// Output file names for a slide `NAME.tif` in `directory`: `NAME` + each chosen kind's suffix, and the summary.
public struct OutputPaths: Sendable, Equatable {
    public let kinds: Set<OutputKind>
    /// `NAME.result.json`, and `NAME.summary.csv` (the slide's row of the directory's `summary.csv`).
    public let summary: String
    public let summaryTable: String
    /// The outputs' `NAME` and their directory.
    public let name: String
    public let directory: String
    private let base: String

    public init(slide: String, directory: String, kinds: Set<OutputKind>, name: String? = nil) {
        let name = name ?? URL(fileURLWithPath: slide).deletingPathExtension().lastPathComponent
        base = URL(fileURLWithPath: directory).appendingPathComponent(name).path
        self.name = name
        self.directory = directory
        self.kinds = kinds
        summary = base + OutputKind.summarySuffix
        summaryTable = base + OutputKind.summaryTableSuffix
    }

    /// The path of `kind`'s file, or nil when it is not written.
    public subscript(kind: OutputKind) -> String? { kinds.contains(kind) ? base + kind.suffix : nil }

    /// Every file written, the summaries included.
    public var all: [String] { kinds.sorted().map { base + $0.suffix } + [summaryTable, summary] }

    /// Output kind → path, as `result.json` lists them (`summary` and `summary_csv` included).
    public var byName: [String: String] {
        Dictionary(uniqueKeysWithValues: kinds.map { ($0.rawValue, base + $0.suffix) } + [("summary", summary), ("summary_csv", summaryTable)])
    }
}
