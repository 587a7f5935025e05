import SlideIO
import UNetCore

/// The slide with the mask tinted green and its contours drawn yellow, at full resolution up to
/// `maximumSide`, box-downscaled by an integer factor beyond it. Rows arrive one at a time; each is
/// drawn once the rows below it that it needs are known (contours need the next row). It thresholds
/// the probabilities itself, so it shares nothing with the slide's other outputs and can be fed on a
/// thread of its own.
///
/// Where regions are split into nuclei (`separation`), it also draws where touching nuclei meet: it runs
/// its own `ObjectTracer` with the same threshold and separation as the object files, so the lines are
/// exactly the GeoJSON's boundaries between nuclei, and holds rows back (`splitLag`, 256 rows up to
/// 65,536 px wide) until the nuclei in them are complete. A region of touching nuclei taller than that
/// gets its lines only on the rows still held.
final class OverlayWriter {
    let factor: Int
    let outputWidth: Int, outputHeight: Int
    private let width: Int, height: Int
    private let writer: PNGRowWriter
    private let threshold: Float
    /// Finds the nuclei whose shared boundaries are drawn (nil: regions are not split).
    private var tracer: ObjectTracer?
    /// Rows that must follow a row before it is drawn: 1 for contours, `splitLag` with split lines.
    private let lag: Int
    /// The masks of the rows from the last drawn one on (255 positive, 0 not, 1 a split line) and the
    /// pixels of the `lag + 1` rows not drawn yet. Slots are reused, never reallocated.
    private var masks: [[UInt8]], pending: [[UInt8]]
    private var traced: [UInt8]
    private var received = 0, drawn = 0
    private var blockSums: [UInt32]
    private var blockRows = 0
    private var outputRow: [UInt8]
    /// Stands in for the missing neighbour of the first and last rows: background, so their pixels are edges.
    private let backgroundRow: [UInt8]

    static let tint: (r: Float, g: Float, b: Float, alpha: Float) = (0, 200, 0, 0.35)
    static let contour: [UInt8] = [255, 230, 0]
    /// Rows held back for split lines: up to 256, within about 64 MB of held rows (4 bytes a pixel).
    static func splitLag(width: Int) -> Int { max(32, min(256, (64 << 20) / (4 * max(width, 1)))) }
    /// `tint` blended over every value of each channel: `tinted[256 · channel + value]`.
    private static let tinted: [UInt8] = [tint.r, tint.g, tint.b].flatMap { target in
        (0..<256).map { UInt8(Float($0) * (1 - tint.alpha) + target * tint.alpha) }
    }

    init(path: String, width: Int, height: Int, threshold: Float, maximumSide: Int, separation: ObjectSeparation = .components) throws(SlideError) {
        self.width = width
        self.height = height
        self.threshold = threshold
        if separation.splits {
            var tracer = ObjectTracer()
            tracer.separation = separation
            tracer.recordsSplitBoundaries = true
            self.tracer = tracer
        }
        lag = separation.splits ? Self.splitLag(width: width) : 1
        masks = Array(repeating: [UInt8](repeating: 0, count: width), count: lag + 2)
        traced = separation.splits ? [UInt8](repeating: 0, count: width) : []
        pending = Array(repeating: [UInt8](repeating: 0, count: 3 * width), count: lag + 1)
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
        let threshold = threshold, slot = received % masks.count
        masks[slot].withUnsafeMutableBufferPointer { mask in
            for x in mask.indices { mask[x] = probabilities[x] >= threshold ? 255 : 0 }
        }
        pending[received % pending.count].withUnsafeMutableBufferPointer { _ = $0.initialize(from: pixels) }
        received += 1
        if tracer != nil {
            // A copy of the row: marking split lines writes into `masks` while the tracer reads its row.
            traced.withUnsafeMutableBufferPointer { _ = $0.initialize(from: masks[slot]) }
            try traced.withUnsafeBufferPointer { (row) throws(SlideError) in try tracer!.add(mask: row, probabilities: probabilities, emit: markSplit) }
        }
        while drawn + lag < received { try draw(row: drawn) }
    }

    func finish() throws(SlideError) {
        try tracer?.finish(emit: markSplit)
        while drawn < received { try draw(row: drawn) }
        if blockRows > 0 { try flushBlock() }
        try writer.finish()
    }

    var path: String { writer.path }

    func publish() throws(SlideError) { try writer.publish() }

    /// Marks an object's pixels that touch another nucleus of its region, on the rows not drawn yet.
    private func markSplit(_ object: TracedObject) {
        for pixel in object.splitBoundary where Int(pixel.y) >= drawn {
            masks[Int(pixel.y) % masks.count][Int(pixel.x)] = 1
        }
    }

    /// The mask of row `y`, or background outside the rows received.
    private func maskRow(_ y: Int) -> [UInt8] { y >= 0 && y < received ? masks[y % masks.count] : backgroundRow }

    /// Draws row `y` (every row it needs has arrived, or is past the end) and writes it out.
    private func draw(row y: Int) throws(SlideError) {
        let edges = maskRow(y)  // 255 inside, 0 outside, 1 on a line between nuclei
        let width = width, contour = Self.contour
        let (red, green, blue) = (contour[0], contour[1], contour[2])
        let slot = y % pending.count
        edges.withUnsafeBufferPointer { mask in
            maskRow(y - 1).withUnsafeBufferPointer { above in
                maskRow(y + 1).withUnsafeBufferPointer { below in
                    Self.tinted.withUnsafeBufferPointer { tinted in
                        pending[slot].withUnsafeMutableBufferPointer { pixels in
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
            try pending[slot].withUnsafeBufferPointer { (row) throws(SlideError) in try writer.write(row: row) }
        } else {
            for x in 0..<width { for c in 0..<3 { blockSums[(x / factor) * 3 + c] += UInt32(pending[slot][3 * x + c]) } }
            blockRows += 1
            if blockRows == factor { try flushBlock() }
        }
        drawn += 1
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
