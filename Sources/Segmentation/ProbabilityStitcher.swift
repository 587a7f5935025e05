import UNetCore

/// Blends overlapping tile probabilities with Gaussian weights, holding only the rows the current tile
/// row covers: memory grows with slide width × tile height, never with slide area.
///
/// Tiles arrive row by row (top to bottom). When the next tile row starts at `y`, every row above `y`
/// has received all its tiles and is handed out, normalised, through `emit`.
struct ProbabilityStitcher {
    let width: Int
    let tileWidth: Int
    let tileHeight: Int
    private let weights: [Float]
    /// Weighted sums and weight totals for rows `windowStart ..< windowStart + tileHeight`.
    private var sums: [Float]
    private var totals: [Float]
    private(set) var windowStart = 0
    private var output: [Float]

    init(width: Int, tileWidth: Int, tileHeight: Int) {
        self.width = width
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        weights = BlendingWeights.gaussian(width: tileWidth, height: tileHeight)
        sums = [Float](repeating: 0, count: width * tileHeight)
        totals = sums
        output = sums
    }

    /// Adds a tile's probabilities (`tileWidth` wide, `rows × columns` valid) at (`x`, `y`);
    /// `y` must lie in the current window. A nil probability is a skipped tile: it votes 0.
    mutating func add(_ probability: UnsafePointer<Float>?, x: Int, y: Int, rows: Int, columns: Int) {
        precondition(y >= windowStart && y + rows <= windowStart + tileHeight)
        let width = self.width, tileWidth = self.tileWidth, top = y - windowStart
        weights.withUnsafeBufferPointer { weight in
            sums.withUnsafeMutableBufferPointer { sums in
                totals.withUnsafeMutableBufferPointer { totals in
                    for row in 0..<rows {
                        let base = (top + row) * width + x, tileRow = row * tileWidth
                        for column in 0..<columns { totals[base + column] += weight[tileRow + column] }
                        guard let probability else { continue }
                        for column in 0..<columns { sums[base + column] += weight[tileRow + column] * probability[tileRow + column] }
                    }
                }
            }
        }
    }

    /// Emits the finished rows above `nextRow` (the next tile row's top) and slides the window down.
    mutating func advance<E: Error>(to nextRow: Int, emit: (_ firstRow: Int, _ rows: Int, _ probabilities: UnsafeBufferPointer<Float>) throws(E) -> Void) throws(E) {
        let finished = min(nextRow - windowStart, tileHeight)
        guard finished > 0 else { return }
        for i in 0..<(finished * width) { output[i] = totals[i] > 0 ? sums[i] / totals[i] : 0 }
        let start = windowStart
        try output.withUnsafeBufferPointer { (all) throws(E) in try emit(start, finished, UnsafeBufferPointer(rebasing: all[0..<(finished * width)])) }
        let kept = (tileHeight - finished) * width
        sums.withUnsafeMutableBufferPointer { Self.shift($0, by: finished * width, keeping: kept) }
        totals.withUnsafeMutableBufferPointer { Self.shift($0, by: finished * width, keeping: kept) }
        windowStart += finished
    }

    private static func shift(_ buffer: UnsafeMutableBufferPointer<Float>, by offset: Int, keeping count: Int) {
        if count > 0 { buffer.baseAddress!.update(from: buffer.baseAddress! + offset, count: count) }
        (buffer.baseAddress! + count).update(repeating: 0, count: buffer.count - count)
    }
}
