import Foundation
import SlideIO
import UNetCore

/// The files one segmented slide produces — mask, overlay, optional probabilities — fed row by row,
/// and the counts gathered on the way (positives; confusion against truth when there is some).
/// Nothing is visible under its final name until `publish()`.
final class SlideOutputs {
    let width: Int, height: Int
    let threshold: Float
    private let mask: PNGRowWriter
    private let probability: PNGRowWriter?
    private let overlay: OverlayWriter
    private let truth: GroundTruth?
    private(set) var positivePixels = 0
    private(set) var confusion = ConfusionCounts()
    private var maskRow: [UInt8]
    private var probabilityRow: [UInt8]
    private var truthRow: [Bool]

    init(paths: OutputPaths, width: Int, height: Int, threshold: Float, overlayMaximumSide: Int, truth: GroundTruth?) throws(SlideError) {
        self.width = width
        self.height = height
        self.threshold = threshold
        self.truth = truth
        mask = try PNGRowWriter(path: paths.mask, width: width, height: height, channels: 1)
        probability = try paths.probabilities.map { (path) throws(SlideError) in try PNGRowWriter(path: path, width: width, height: height, channels: 1) }
        overlay = try OverlayWriter(path: paths.overlay, width: width, height: height, maximumSide: overlayMaximumSide)
        maskRow = [UInt8](repeating: 0, count: width)
        probabilityRow = maskRow
        truthRow = [Bool](repeating: false, count: width)
    }

    var overlaySize: (width: Int, height: Int) { (overlay.outputWidth, overlay.outputHeight) }

    /// Consumes finished rows: probabilities (`rows × width`) and the slide pixels of the same rows.
    func consume(firstRow: Int, rows: Int, probabilities: UnsafeBufferPointer<Float>, pixels: RGBImage) throws(SlideError) {
        for row in 0..<rows {
            let values = UnsafeBufferPointer(rebasing: probabilities[(row * width)..<((row + 1) * width)])
            for x in 0..<width {
                let positive = values[x] >= threshold
                maskRow[x] = positive ? 255 : 0
                positivePixels += positive ? 1 : 0
            }
            if let truth {
                truthRow.withUnsafeMutableBufferPointer { truth.fill(row: firstRow + row, into: $0) }
                for x in 0..<width { confusion.add(predicted: maskRow[x] != 0, truth: truthRow[x]) }
            }
            try maskRow.withUnsafeBufferPointer { (row) throws(SlideError) in try mask.write(row: row) }
            if let probability {
                for x in 0..<width { probabilityRow[x] = UInt8((min(max(values[x], 0), 1) * 255).rounded()) }
                try probabilityRow.withUnsafeBufferPointer { (row) throws(SlideError) in try probability.write(row: row) }
            }
            try pixels.pixels.withUnsafeBufferPointer { (rgb) throws(SlideError) in
                try overlay.add(pixels: UnsafeBufferPointer(rebasing: rgb[(row * width * 3)..<((row + 1) * width * 3)]), mask: maskRow)
            }
        }
    }

    /// Finishes every image (flushed and fsynced, still under temporary names).
    func finish() throws(SlideError) {
        try mask.finish()
        try probability?.finish()
        try overlay.finish()
    }

    /// Renames every image into place; if one rename fails, those already renamed are removed again,
    /// so the slide has all its outputs or none.
    func publish() throws(SlideError) {
        var published: [String] = []
        do throws(SlideError) {
            try mask.publish(); published.append(mask.path)
            try probability?.publish(); if let probability { published.append(probability.path) }
            try overlay.publish(); published.append(overlay.path)
        } catch {
            published.forEach { unlink($0) }
            throw error
        }
    }

    /// Removes published images (when the summary, written last, could not be).
    func unpublish() {
        for path in [mask.path, overlay.path] { unlink(path) }
        if let probability { unlink(probability.path) }
    }
}

/// Output file names for a slide `NAME.tif` in `directory`.
public struct OutputPaths: Sendable, Equatable {
    public let mask: String
    public let overlay: String
    public let probabilities: String?
    public let summary: String

    public init(slide: String, directory: String, probabilities: Bool, name: String? = nil) {
        let name = name ?? URL(fileURLWithPath: slide).deletingPathExtension().lastPathComponent
        let base = URL(fileURLWithPath: directory).appendingPathComponent(name).path
        mask = base + ".mask.png"
        overlay = base + ".overlay.png"
        self.probabilities = probabilities ? base + ".prob.png" : nil
        summary = base + ".result.json"
    }

    public var all: [String] { [mask, overlay, summary] + (probabilities.map { [$0] } ?? []) }
}
