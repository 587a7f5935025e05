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

    /// Index `i` reflected into `0..<length` without repeating the edge (…, 2, 1, 0, 1, 2, …).
    static func reflect(_ index: Int, _ length: Int) -> Int {
        guard length > 1 else { return 0 }
        let period = 2 * (length - 1)
        var i = abs(index) % period
        if i >= length { i = period - i }
        return i
    }
}
