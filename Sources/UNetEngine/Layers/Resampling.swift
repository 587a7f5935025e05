import CKernels
/// Where a decoder writes its upsampled map: a `height × width` plane stack, with the upsampled
/// image placed at (`top`, `left`) the way `F.pad(x, [dx//2, dx-dx//2, dy//2, dy-dy//2])` places it.
/// Offsets may be negative (F.pad with negative pads crops).
struct PaddedPlacement {
    let height: Int, width: Int
    let top: Int, left: Int

    /// Placement of a `sourceHeight × sourceWidth` map into a skip of `height × width`.
    init(source sourceHeight: Int, _ sourceWidth: Int, into height: Int, _ width: Int) {
        self.height = height
        self.width = width
        top = Self.floorHalf(height - sourceHeight)
        left = Self.floorHalf(width - sourceWidth)
    }

    /// Python's `d // 2` (floor division, also for negative d).
    private static func floorHalf(_ d: Int) -> Int { d >= 0 ? d / 2 : -((-d + 1) / 2) }

    /// Whether some destination pixels receive no source pixel and must be zeroed.
    func needsZeroFill(sourceHeight: Int, sourceWidth: Int) -> Bool {
        top > 0 || left > 0 || top + sourceHeight < height || left + sourceWidth < width
    }
}

/// 2×2 max pooling with stride 2 (odd trailing rows and columns dropped, as PyTorch floors).
enum MaxPool2x2 {
    /// Pooled rows `rows` (all of them by default: ⌊height/2⌋) of every channel; each pooled row reads
    /// only input rows 2·y and 2·y + 1, so a kernel can pool the rows it has just written.
    static func forward(input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Float>, rows: Range<Int>? = nil) {
        let outHeight = height / 2, outWidth = width / 2
        for c in 0..<channels {
            let source = input + c * height * width, destination = output + c * outHeight * outWidth
            for y in rows ?? 0..<outHeight {
                let top = source + 2 * y * width, bottom = top + width, out = destination + y * outWidth
                for x in 0..<outWidth {
                    out[x] = max(max(top[2 * x], top[2 * x + 1]), max(bottom[2 * x], bottom[2 * x + 1]))
                }
            }
        }
    }

    /// Every row of every channel, the channels shared among `parallel`'s workers.
    static func forward(input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Float>, parallel: ParallelBands) {
        parallel.split(count: channels) { _, range in
            forward(input: input + range.lowerBound * height * width, channels: range.count, height: height, width: width,
                    output: output + range.lowerBound * (height / 2) * (width / 2))
        }
    }
}

/// `nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)`, written straight into a padded
/// placement. Index and weight arithmetic follows ATen's CPU kernel (float source coordinates).
enum BilinearUpsample2x {
    /// `roundedToBF16`: each output rounded to bf16 as it is written (a bf16 network's next convolution
    /// input), saving a pass over the layer.
    static func forward(input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Float>, placement: PaddedPlacement, roundedToBF16: Bool = false) {
        let outHeight = 2 * height, outWidth = 2 * width
        let plane = placement.height * placement.width
        if placement.needsZeroFill(sourceHeight: outHeight, sourceWidth: outWidth) {
            output.update(repeating: 0, count: channels * plane)
        }
        let yRange = max(0, -placement.top)..<min(outHeight, placement.height - placement.top)
        let xRange = max(0, -placement.left)..<min(outWidth, placement.width - placement.left)
        guard !yRange.isEmpty && !xRange.isEmpty else { return }
        let taps = Taps(height: height, width: width, columns: xRange)
        for c in 0..<channels {
            let destination = output + c * plane
            interpolate(input + c * height * width, width: width, taps: taps, rows: yRange) { y, h0, h1, _, _, wy0, wy1 in
                let out = destination + (y + placement.top) * placement.width + placement.left + xRange.lowerBound
                if roundedToBF16 {
                    for x in 0..<xRange.count { out[x] = BFloat16.rounded(wy0 * h0[x] + wy1 * h1[x]) }
                } else {
                    for x in 0..<xRange.count { out[x] = wy0 * h0[x] + wy1 * h1[x] }
                }
            }
        }
    }

    /// As `forward` with `roundedToBF16` at a placement of exactly twice the input, but written as a bf16
    /// convolution's padded input (`unet_conv3x3_pad_bf16_pairs`' layout): channels 2p and 2p + 1 in the
    /// low and high halves of `pairs + p · plane`, at (y + 1) · stride + x + 1, borders zeroed. This skips
    /// writing the fp32 layer and the padding pass that would read it. `channels` even.
    static func forwardPairs(input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                             pairs: UnsafeMutablePointer<UInt32>, stride: Int, plane: Int) {
        precondition(channels % 2 == 0, "pairs of channels")
        let outHeight = 2 * height, outWidth = 2 * width
        unet_conv3x3_zero_pair_borders(pairs, Int64(stride), Int64(outHeight), Int64(outWidth), 0, Int64(channels / 2))
        let taps = Taps(height: height, width: width, columns: 0..<outWidth)
        for pair in 0..<channels / 2 {
            let low = input + 2 * pair * height * width, destination = pairs + pair * plane
            interpolate(low, alongside: low + height * width, width: width, taps: taps, rows: 0..<outHeight) { y, h0, h1, g0, g1, wy0, wy1 in
                let out = destination + (y + 1) * stride + 1
                for x in 0..<outWidth {
                    out[x] = BFloat16.rounded(wy0 * h0[x] + wy1 * h1[x]).bitPattern >> 16
                        | BFloat16.rounded(wy0 * g0[x] + wy1 * g1[x]).bitPattern & 0xFFFF_0000
                }
            }
        }
    }

    /// One channel's output rows `rows` (columns `columns`), each handed to `emit` as the two
    /// interpolated source rows and their weights, for `wy0 · h0[x] + wy1 · h1[x]`; with `alongside`, a
    /// second channel's rows in the same step (`g0`, `g1`; else they repeat `h0`, `h1`). Separable, in
    /// ATen's order: each source row interpolated across once (`wx0·a + wx1·b`), kept in one of two slots
    /// while the output rows that need it are written.
    private static func interpolate(_ source: UnsafePointer<Float>, alongside second: UnsafePointer<Float>? = nil, width: Int, taps: Taps,
                                    rows: Range<Int>,
                                    _ emit: (_ y: Int, _ h0: UnsafePointer<Float>, _ h1: UnsafePointer<Float>, _ g0: UnsafePointer<Float>,
                                             _ g1: UnsafePointer<Float>, _ wy0: Float, _ wy1: Float) -> Void) {
        let rowTaps = taps.rows, count = taps.columns.count
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * count) { slots in
            taps.columns.withUnsafeBufferPointer { taps in
                // Slots 0 and 1 for `source`, 2 and 3 for `second`, which needs the same rows at the same time.
                let slot = (0..<4).map { slots.baseAddress! + $0 * count }
                var slotRow = [-1, -1]
                func interpolateAcross(_ line: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>) {
                    for x in 0..<count {
                        let (x0, x1, wx0, wx1) = taps[x]
                        h[x] = wx0 * line[x0] + wx1 * line[x1]
                    }
                }
                func across(_ row: Int) -> Int {
                    if let cached = slotRow.firstIndex(of: row) { return cached }
                    // Keep the row just above (the other row of the same output row), else the older one.
                    let target = slotRow[0] == row - 1 ? 1 : slotRow[1] == row - 1 ? 0 : (slotRow[0] < slotRow[1] ? 0 : 1)
                    interpolateAcross(source + row * width, into: slot[target])
                    if let second { interpolateAcross(second + row * width, into: slot[target + 2]) }
                    slotRow[target] = row
                    return target
                }
                let pair = second == nil ? 0 : 2
                for y in rows {
                    let (y0, y1, wy0, wy1) = rowTaps[y]
                    let s0 = across(y0), s1 = across(y1)
                    emit(y, slot[s0], slot[s1], slot[s0 + pair], slot[s1 + pair], wy0, wy1)
                }
            }
        }
    }

    /// The interpolation taps of one upsampling, shared by all its channels: every output row's, and
    /// the output columns `columns`'.
    private struct Taps {
        let rows: [(Int, Int, Float, Float)]
        let columns: [(Int, Int, Float, Float)]

        init(height: Int, width: Int, columns: Range<Int>) {
            rows = BilinearUpsample2x.interpolation(input: height, output: 2 * height)
            self.columns = Array(BilinearUpsample2x.interpolation(input: width, output: 2 * width)[columns])
        }
    }

    /// For each output index: the two source indices and their weights.
    static func interpolation(input: Int, output: Int) -> [(Int, Int, Float, Float)] {
        let scale: Float = output > 1 ? Float(input - 1) / Float(output - 1) : 0
        return (0..<output).map { index in
            let real = scale * Float(index)
            let lower = min(Int(real), input - 1)
            let upper = lower + (lower < input - 1 ? 1 : 0)
            let upperWeight = min(max(real - Float(lower), 0), 1)
            return (lower, upper, 1 - upperWeight, upperWeight)
        }
    }
}
