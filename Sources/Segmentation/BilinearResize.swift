import SlideIO

/// Resampling between slide and network resolution (`--input-scale`), half-pixel centred
/// (align_corners=False), clamped at the edges.
enum BilinearResize {
    /// Source coordinate sampled by destination index `index` when scaling by `scale` (dst = src·scale).
    static func sourceCoordinate(_ index: Int, scale: Double, sourceLength: Int) -> (lower: Int, upper: Int, weight: Float) {
        let real = max(0, (Double(index) + 0.5) / scale - 0.5)
        let lower = min(Int(real), sourceLength - 1)
        let upper = min(lower + 1, sourceLength - 1)
        return (lower, upper, Float(real - Double(lower)))
    }

    /// Resizes an RGB band; `rowOrigin` is the source row of `band`'s first row and `firstRow` the
    /// destination row to start at, so bands of a larger image resample consistently.
    static func resize(_ band: RGBImage, rowOrigin: Int, sourceHeight: Int, scale: Double,
                       width: Int, firstRow: Int, rows: Int) -> RGBImage {
        var output = RGBImage(width: width, height: rows)
        let columns = (0..<width).map { sourceCoordinate($0, scale: scale, sourceLength: band.width) }
        band.pixels.withUnsafeBufferPointer { source in
            output.pixels.withUnsafeMutableBufferPointer { destination in
                for row in 0..<rows {
                    let (y0, y1, wy) = sourceCoordinate(firstRow + row, scale: scale, sourceLength: sourceHeight)
                    let top = max(0, min(band.height - 1, y0 - rowOrigin)) * band.width
                    let bottom = max(0, min(band.height - 1, y1 - rowOrigin)) * band.width
                    for (column, (x0, x1, wx)) in columns.enumerated() {
                        for c in 0..<3 {
                            let upper = Float(source[(top + x0) * 3 + c]) * (1 - wx) + Float(source[(top + x1) * 3 + c]) * wx
                            let lower = Float(source[(bottom + x0) * 3 + c]) * (1 - wx) + Float(source[(bottom + x1) * 3 + c]) * wx
                            destination[(row * width + column) * 3 + c] = UInt8(min(255, max(0, (upper * (1 - wy) + lower * wy).rounded())))
                        }
                    }
                }
            }
        }
        return output
    }

    /// Source rows a band of destination rows `[firstRow, firstRow + rows)` reads.
    static func sourceRows(firstRow: Int, rows: Int, scale: Double, sourceHeight: Int) -> Range<Int> {
        let first = sourceCoordinate(firstRow, scale: scale, sourceLength: sourceHeight).lower
        let last = sourceCoordinate(firstRow + rows - 1, scale: scale, sourceLength: sourceHeight).upper
        return first..<(last + 1)
    }
}
