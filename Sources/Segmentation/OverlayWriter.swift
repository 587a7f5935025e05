import SlideIO

/// The slide with the mask tinted green and its contours drawn yellow, at full resolution up to
/// `maximumSide`, box-downscaled by an integer factor beyond it. Rows arrive one at a time; each is
/// drawn once the row below it is known (contours need both neighbours). It thresholds the
/// probabilities itself, so it shares nothing with the slide's other outputs and can be fed on a
/// thread of its own.
///
/// For an instance model (`drawsValleys`) it also draws where touching nuclei meet: the valleys of
/// its distance map, pixels lower than a neighbour on one side and no higher than the one opposite,
/// below `valleyCeiling`. That is where `InstanceSplitter` cuts such regions, read from three rows.
final class OverlayWriter {
    let factor: Int
    let outputWidth: Int, outputHeight: Int
    private let width: Int, height: Int
    private let writer: PNGRowWriter
    private let threshold: Float
    /// Mask rows (255 positive, 0 not): the row above the pending one, the pending one, the newest.
    /// Rotated, never reallocated.
    private var above: [UInt8], pending: [UInt8], newest: [UInt8]
    private var hasAbove = false, hasPending = false
    /// The same three rows' probabilities, kept only when drawing valleys.
    private var aboveValues: [Float] = [], pendingValues: [Float] = [], newestValues: [Float] = []
    private let drawsValleys: Bool
    static let valleyCeiling: Float = 0.9
    private var pendingPixels: [UInt8] = []
    private var rowsDrawn = 0
    private var blockSums: [UInt32]
    private var blockRows = 0
    private var outputRow: [UInt8]
    /// Stands in for the missing neighbour of the first and last rows: background, so their pixels are edges.
    private let backgroundRow: [UInt8]

    static let tint: (r: Float, g: Float, b: Float, alpha: Float) = (0, 200, 0, 0.35)
    static let contour: [UInt8] = [255, 230, 0]
    /// `tint` blended over every value of each channel: `tinted[256 · channel + value]`.
    private static let tinted: [UInt8] = [tint.r, tint.g, tint.b].flatMap { target in
        (0..<256).map { UInt8(Float($0) * (1 - tint.alpha) + target * tint.alpha) }
    }

    init(path: String, width: Int, height: Int, threshold: Float, maximumSide: Int, drawsValleys: Bool = false) throws(SlideError) {
        self.drawsValleys = drawsValleys
        if drawsValleys {
            aboveValues = [Float](repeating: 0, count: width)
            pendingValues = aboveValues
            newestValues = aboveValues
        }
        self.width = width
        self.height = height
        self.threshold = threshold
        above = [UInt8](repeating: 0, count: width)
        pending = above
        newest = above
        factor = max(1, (max(width, height) + maximumSide - 1) / maximumSide)
        outputWidth = (width + factor - 1) / factor
        outputHeight = (height + factor - 1) / factor
        writer = try PNGRowWriter(path: path, width: outputWidth, height: outputHeight, channels: 3)
        blockSums = [UInt32](repeating: 0, count: outputWidth * 3)
        outputRow = [UInt8](repeating: 0, count: outputWidth * 3)
        backgroundRow = [UInt8](repeating: 0, count: width)
    }

    /// Adds the next row: its RGB pixels and its foreground probabilities (`width` each).
    func add(pixels: UnsafeBufferPointer<UInt8>, probabilities: UnsafeBufferPointer<Float>) throws(SlideError) {
        let threshold = threshold
        newest.withUnsafeMutableBufferPointer { mask in
            for x in mask.indices { mask[x] = probabilities[x] >= threshold ? 255 : 0 }
        }
        if drawsValleys { newestValues.withUnsafeMutableBufferPointer { _ = $0.initialize(from: probabilities) } }
        if hasPending {
            try drawPending(below: newest, belowValues: newestValues)
            swap(&above, &pending)  // the drawn row is now the one above
            swap(&aboveValues, &pendingValues)
            hasAbove = true
        }
        swap(&pending, &newest)
        swap(&pendingValues, &newestValues)
        hasPending = true
        if pendingPixels.count == pixels.count {
            pendingPixels.withUnsafeMutableBufferPointer { _ = $0.initialize(from: pixels) }
        } else {
            pendingPixels = Array(pixels)
        }
    }

    func finish() throws(SlideError) {
        if hasPending { try drawPending(below: backgroundRow, belowValues: []) }
        if blockRows > 0 { try flushBlock() }
        try writer.finish()
    }

    var path: String { writer.path }

    func publish() throws(SlideError) { try writer.publish() }

    /// Draws the pending row, given the mask row below it, and writes it out.
    private func drawPending(below: [UInt8], belowValues: [Float]) throws(SlideError) {
        if drawsValleys { markValleys(below: below, belowValues: belowValues) }
        let width = width, contour = Self.contour
        let (red, green, blue) = (contour[0], contour[1], contour[2])
        pending.withUnsafeBufferPointer { mask in
            (hasAbove ? above : backgroundRow).withUnsafeBufferPointer { above in
                below.withUnsafeBufferPointer { below in
                    Self.tinted.withUnsafeBufferPointer { tinted in
                        pendingPixels.withUnsafeMutableBufferPointer { pixels in
                            for x in 0..<width where mask[x] != 0 {
                                let edge = mask[x] == 1 || x == 0 || x == width - 1 || mask[x - 1] == 0 || mask[x + 1] == 0 || above[x] == 0 || below[x] == 0
                                let pixel = 3 * x
                                if edge {
                                    (pixels[pixel], pixels[pixel + 1], pixels[pixel + 2]) = (red, green, blue)
                                } else {
                                    pixels[pixel] = tinted[Int(pixels[pixel])]
                                    pixels[pixel + 1] = tinted[256 + Int(pixels[pixel + 1])]
                                    pixels[pixel + 2] = tinted[512 + Int(pixels[pixel + 2])]
                                }
                            }
                        }
                    }
                }
            }
        }
        if factor == 1 {
            try pendingPixels.withUnsafeBufferPointer { (row) throws(SlideError) in try writer.write(row: row) }
        } else {
            for x in 0..<width { for c in 0..<3 { blockSums[(x / factor) * 3 + c] += UInt32(pendingPixels[3 * x + c]) } }
            blockRows += 1
            if blockRows == factor { try flushBlock() }
        }
        rowsDrawn += 1
    }

    /// Marks the pending row's valley pixels as edges (0 in a copy of the mask row the drawing reads
    /// as "a neighbour is background"): set to 1, a value no thresholded row holds.
    private func markValleys(below: [UInt8], belowValues: [Float]) {
        let width = width, ceiling = Self.valleyCeiling
        let up = hasAbove ? aboveValues : [], upMask = hasAbove ? above : backgroundRow
        for x in 1..<max(1, width - 1) where pending[x] != 0 {
            let value = pendingValues[x]
            guard value < ceiling else { continue }
            let across = pending[x - 1] != 0 && pending[x + 1] != 0 && value < pendingValues[x - 1] && value <= pendingValues[x + 1]
            let down = upMask[x] != 0 && below[x] != 0 && !up.isEmpty && !belowValues.isEmpty && value < up[x] && value <= belowValues[x]
            if across || down { pending[x] = 1 }
        }
    }

    private func flushBlock() throws(SlideError) {
        for column in 0..<outputWidth {
            let columns = min(factor, width - column * factor)
            let count = UInt32(columns * blockRows)
            for c in 0..<3 { outputRow[column * 3 + c] = UInt8((blockSums[column * 3 + c] + count / 2) / count) }
        }
        try outputRow.withUnsafeBufferPointer { (row) throws(SlideError) in try writer.write(row: row) }
        blockSums = [UInt32](repeating: 0, count: outputWidth * 3)
        blockRows = 0
    }
}
