import UNetCore

/// Blends overlapping tile probabilities with Gaussian weights, holding only the weighted sums of the
/// rows the current tile row covers (4 bytes per pixel of slide width × tile height). The weights are
/// separable, so their totals are one per row and one per column (`BlendingWeights.totals`).
///
/// Tiles arrive row by row (top to bottom). When the next tile row starts at `y`, every row above `y`
/// has received all its tiles and is handed out, normalised, through `emit`.
struct ProbabilityStitcher {
    let width: Int
    let tileWidth: Int
    let tileHeight: Int
    private let rowWeights: [Float], columnWeights: [Float]
    private let rowTotals: [Float], columnTotals: [Float]
    /// Weighted sums for rows `windowStart ..< windowStart + tileHeight`, normalised in place when emitted.
    private var sums: [Float]
    private(set) var windowStart = 0

    init(grid: TileGrid) {
        width = grid.imageWidth
        tileWidth = grid.tileWidth
        tileHeight = grid.tileHeight
        rowWeights = BlendingWeights.profile(length: tileHeight)
        columnWeights = BlendingWeights.profile(length: tileWidth)
        rowTotals = BlendingWeights.totals(length: grid.imageHeight, tile: tileHeight, origins: grid.rowOrigins)
        columnTotals = BlendingWeights.totals(length: width, tile: tileWidth, origins: grid.columnOrigins)
        sums = [Float](repeating: 0, count: width * tileHeight)
    }

    /// Calls its body on consecutive ranges covering `0..<count`, possibly on several threads at once
    /// (`UNetRunner.split`): each row's sums depend on that row alone, so any split gives the same result.
    typealias RowSplitter = (_ count: Int, _ body: (Range<Int>) -> Void) -> Void
    static func oneThread(_ count: Int, _ body: (Range<Int>) -> Void) { body(0..<count) }

    /// Adds a tile's probabilities (`tileWidth` wide, `rows × columns` valid) at (`x`, `y`);
    /// `y` must lie in the current window. A nil probability is a skipped tile: it votes 0 (its weight
    /// is already in the totals).
    mutating func add(_ probability: UnsafePointer<Float>?, x: Int, y: Int, rows: Int, columns: Int, split: RowSplitter = Self.oneThread) {
        precondition(y >= windowStart && y + rows <= windowStart + tileHeight)
        guard let probability else { return }
        let width = self.width, tileWidth = self.tileWidth, top = y - windowStart
        rowWeights.withUnsafeBufferPointer { rowWeights in
            columnWeights.withUnsafeBufferPointer { columnWeights in
                sums.withUnsafeMutableBufferPointer { sums in
                    split(rows) { tileRows in
                        for row in tileRows {
                            let base = (top + row) * width + x, tileRow = row * tileWidth, rowWeight = rowWeights[row]
                            for column in 0..<columns {
                                sums[base + column] += rowWeight * columnWeights[column] * probability[tileRow + column]
                            }
                        }
                    }
                }
            }
        }
    }

    /// Emits the finished rows above `nextRow` (the next tile row's top) and slides the window down.
    mutating func advance<E: Error>(to nextRow: Int, split: RowSplitter = Self.oneThread,
                                    emit: (_ firstRow: Int, _ rows: Int, _ probabilities: UnsafeBufferPointer<Float>) throws(E) -> Void) throws(E) {
        let finished = min(nextRow - windowStart, tileHeight)
        guard finished > 0 else { return }
        let width = self.width, start = windowStart
        rowTotals.withUnsafeBufferPointer { rowTotals in
            columnTotals.withUnsafeBufferPointer { columnTotals in
                sums.withUnsafeMutableBufferPointer { sums in
                    split(finished) { rows in
                        for row in rows {
                            let rowTotal = rowTotals[start + row], base = row * width
                            for x in 0..<width {
                                let total = rowTotal * columnTotals[x]
                                sums[base + x] = total > 0 ? sums[base + x] / total : 0
                            }
                        }
                    }
                }
            }
        }
        try sums.withUnsafeBufferPointer { (all) throws(E) in try emit(start, finished, UnsafeBufferPointer(rebasing: all[0..<(finished * width)])) }
        let kept = (tileHeight - finished) * width
        sums.withUnsafeMutableBufferPointer { buffer in
            if kept > 0 { buffer.baseAddress!.update(from: buffer.baseAddress! + finished * width, count: kept) }
            (buffer.baseAddress! + kept).update(repeating: 0, count: buffer.count - kept)
        }
        windowStart += finished
    }
}
