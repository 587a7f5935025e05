import SlideIO
import UNetCore

/// Turns 8-bit RGB pixels into the network's float CHW input: channel order, `p·scale`, then
/// `(v − mean)/std`; positions past the image edge are filled by reflection (PyTorch's 'reflect').
struct TileInput {
    let preprocessing: Preprocessing
    private let sourceChannel: [Int]
    private let multiplier: [Float]
    private let offset: [Float]

    init(preprocessing: Preprocessing) {
        self.preprocessing = preprocessing
        sourceChannel = preprocessing.channelOrder == .rgb ? [0, 1, 2] : [2, 1, 0]
        // (p·scale − mean)/std = p·(scale/std) − mean/std
        multiplier = (0..<3).map { preprocessing.scale / (preprocessing.std?[$0] ?? 1) }
        offset = (0..<3).map { -(preprocessing.mean?[$0] ?? 0) / (preprocessing.std?[$0] ?? 1) }
    }

    /// Fills `input[3, height, width]` from `band` starting at column `x`, row `y`; reads past the
    /// band's right or bottom edge reflect back inside it. Only the input rows in `rows` (all by default),
    /// so that several threads can fill one tile.
    func fill(_ input: UnsafeMutablePointer<Float>, width: Int, height: Int, from band: RGBImage, x: Int, y: Int, rows: Range<Int>? = nil) {
        if x >= 0 && x + width <= band.width {
            return fillInside(input, width: width, height: height, from: band, x: x, y: y, rows: rows ?? 0..<height)
        }
        let columns = (0..<width).map { Self.reflect(x + $0, band.width) }
        band.pixels.withUnsafeBufferPointer { pixels in
            for row in rows ?? 0..<height {
                let sourceRow = Self.reflect(y + row, band.height) * band.width
                for channel in 0..<3 {
                    let destination = input + (channel * height + row) * width
                    let source = sourceChannel[channel], a = multiplier[channel], b = offset[channel]
                    for column in 0..<width {
                        destination[column] = Float(pixels[(sourceRow + columns[column]) * 3 + source]) * a + b
                    }
                }
            }
        }
    }

    /// `fill` where every column lies inside the band: each row's pixels read once, in order, with the
    /// same arithmetic per value (a loop the compiler vectorises, not a gather through reflected indices).
    private func fillInside(_ input: UnsafeMutablePointer<Float>, width: Int, height: Int, from band: RGBImage, x: Int, y: Int,
                            rows: Range<Int>) {
        // Where each source channel goes (the channel order read backwards), and its multiplier and offset.
        var target = [0, 0, 0]
        for channel in 0..<3 { target[sourceChannel[channel]] = channel }
        let (a0, a1, a2) = (multiplier[target[0]], multiplier[target[1]], multiplier[target[2]])
        let (b0, b1, b2) = (offset[target[0]], offset[target[1]], offset[target[2]])
        band.pixels.withUnsafeBufferPointer { pixels in
            for row in rows {
                let source = pixels.baseAddress! + (Self.reflect(y + row, band.height) * band.width + x) * 3
                let d0 = input + (target[0] * height + row) * width, d1 = input + (target[1] * height + row) * width
                let d2 = input + (target[2] * height + row) * width
                for column in 0..<width {
                    let pixel = source + 3 * column
                    d0[column] = Float(pixel[0]) * a0 + b0
                    d1[column] = Float(pixel[1]) * a1 + b1
                    d2[column] = Float(pixel[2]) * a2 + b2
                }
            }
        }
    }

    /// Index `i` reflected into `0..<length` without repeating the edge (…, 2, 1, 0, 1, 2, …).
    static func reflect(_ index: Int, _ length: Int) -> Int {
        guard length > 1 else { return 0 }
        let period = 2 * (length - 1)
        var i = abs(index) % period
        if i >= length { i = period - i }
        return i
    }
}
