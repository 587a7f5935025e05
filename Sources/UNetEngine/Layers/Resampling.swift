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
}

/// `nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)`, written straight into a padded
/// placement. Index and weight arithmetic follows ATen's CPU kernel (float source coordinates).
enum BilinearUpsample2x {
    /// `roundedToBF16`: each output rounded to bf16 as it is written (a bf16 network's next convolution
    /// input), saving a pass over the layer.
    static func forward(input: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                        output: UnsafeMutablePointer<Float>, placement: PaddedPlacement, roundedToBF16: Bool = false) {
        let outHeight = 2 * height, outWidth = 2 * width
        let rows = interpolation(input: height, output: outHeight)
        let columns = interpolation(input: width, output: outWidth)
        let plane = placement.height * placement.width
        if placement.needsZeroFill(sourceHeight: outHeight, sourceWidth: outWidth) {
            output.update(repeating: 0, count: channels * plane)
        }
        let yRange = max(0, -placement.top)..<min(outHeight, placement.height - placement.top)
        let xRange = max(0, -placement.left)..<min(outWidth, placement.width - placement.left)
        guard !yRange.isEmpty && !xRange.isEmpty else { return }
        let count = xRange.count, taps = Array(columns[xRange])
        // Separable, in ATen's order: each source row interpolated across once (`wx0·a + wx1·b`), kept
        // in one of two slots while the output rows that need it are written (`wy0·h0 + wy1·h1`).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * count) { slots in
            taps.withUnsafeBufferPointer { taps in
                let slot = [slots.baseAddress!, slots.baseAddress! + count]
                for c in 0..<channels {
                    let source = input + c * height * width
                    let destination = output + c * plane
                    var slotRow = [-1, -1]
                    func across(_ row: Int) -> UnsafePointer<Float> {
                        if let cached = slotRow.firstIndex(of: row) { return UnsafePointer(slot[cached]) }
                        // Keep the row just above (the other row of the same output row), else the older one.
                        let target = slotRow[0] == row - 1 ? 1 : slotRow[1] == row - 1 ? 0 : (slotRow[0] < slotRow[1] ? 0 : 1)
                        let line = source + row * width, h = slot[target]
                        for x in 0..<count {
                            let (x0, x1, wx0, wx1) = taps[x]
                            h[x] = wx0 * line[x0] + wx1 * line[x1]
                        }
                        slotRow[target] = row
                        return UnsafePointer(h)
                    }
                    for y in yRange {
                        let (y0, y1, wy0, wy1) = rows[y]
                        let h0 = across(y0), h1 = across(y1)
                        let out = destination + (y + placement.top) * placement.width + placement.left + xRange.lowerBound
                        if roundedToBF16 {
                            for x in 0..<count { out[x] = BFloat16.rounded(wy0 * h0[x] + wy1 * h1[x]) }
                        } else {
                            for x in 0..<count { out[x] = wy0 * h0[x] + wy1 * h1[x] }
                        }
                    }
                }
            }
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
