/// A 3×3, stride-1, pad-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray,
/// 2016): each 2×2 block of outputs costs 16 multiplies per channel pair instead of 36, as 16 GEMMs
/// `M_ξ = U_ξ · V_ξ` between transformed weights and transformed 4×4 input tiles. Inference only; it
/// is built from the folded `Conv2D` and gives the same result to float rounding (about 1e-6).
struct WinogradConv3x3: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// `U[ξ][out][in]`, ξ = 0..<16: `G g Gᵀ` for every filter.
    private let transformedWeights: [Float]
    private let bias: [Float]

    /// Worth it only where the GEMMs have enough channels to run efficiently.
    static func isWorthwhile(for conv: Conv2D) -> Bool {
        conv.kernelSize == 3 && conv.inputChannels >= minimumChannels && conv.outputChannels >= minimumChannels
    }

    /// Measured on 2-core Zen 4 (BENCHMARKS.md): from 64 channels up Winograd wins (1.65× at width 64);
    /// at 16–32 channels the small-K GEMMs lose to im2col.
    static let minimumChannels = 64
    /// Scratch floats per worker: transformed inputs and products for a band of tiles.
    static let bandBudget = 1 << 20

    init(_ conv: Conv2D) {
        precondition(conv.kernelSize == 3)
        inputChannels = conv.inputChannels
        outputChannels = conv.outputChannels
        bias = conv.bias
        let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        let cin = conv.inputChannels, cout = conv.outputChannels
        var u = [Float](repeating: 0, count: 16 * cout * cin)
        for o in 0..<cout {
            for i in 0..<cin {
                let filter = (0..<9).map { Double(conv.weight[(o * cin + i) * 9 + $0]) }
                // G · filter (4×3), then · Gᵀ (4×4).
                var left = [[Double]](repeating: [0, 0, 0], count: 4)
                for r in 0..<4 { for c in 0..<3 { left[r][c] = (0..<3).reduce(0) { $0 + g[r][$1] * filter[$1 * 3 + c] } } }
                for r in 0..<4 {
                    for c in 0..<4 {
                        let value = (0..<3).reduce(0) { $0 + left[r][$1] * g[c][$1] }
                        u[((r * 4 + c) * cout + o) * cin + i] = Float(value)
                    }
                }
            }
        }
        transformedWeights = u
    }

    /// Tiles (2×2 output blocks) per band so that one band's scratch fits `bandBudget`.
    func tilesPerBand(tilesPerRow: Int) -> Int {
        let perTile = 16 * (inputChannels + outputChannels)
        let rows = max(1, max(Self.bandBudget / perTile, Self.minimumBandTiles) / tilesPerRow)
        return rows * tilesPerRow
    }

    /// At least this many tiles per band, so wide layers do not repack their weights for every sliver.
    static let minimumBandTiles = 256

    func scratchCount(width: Int) -> Int {
        let tilesPerRow = (width + 1) / 2
        return 16 * (inputChannels + outputChannels) * tilesPerBand(tilesPerRow: tilesPerRow)
    }

    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                 scratch: UnsafeMutablePointer<Float>, scratchPerWorker: Int, parallel: ParallelBands) {
        let tilesPerRow = (width + 1) / 2, tileRows = (height + 1) / 2
        let bandTileRows = max(1, min(tilesPerBand(tilesPerRow: tilesPerRow) / tilesPerRow, ParallelBands.largestBand(tileRows)))
        parallel.forEach(count: tileRows, chunk: bandTileRows) { worker, band in
            let tiles = band.count * tilesPerRow
            let transformed = scratch + worker * scratchPerWorker
            let products = transformed + 16 * inputChannels * tiles
            transformInput(input, height: height, width: width, tileRows: band, tilesPerRow: tilesPerRow, into: transformed)
            transformedWeights.withUnsafeBufferPointer { u in
                for xi in 0..<16 {
                    BLAS.gemm(m: outputChannels, n: tiles, k: inputChannels,
                              a: u.baseAddress! + xi * outputChannels * inputChannels, lda: inputChannels,
                              b: transformed + xi * inputChannels * tiles, ldb: tiles,
                              c: products + xi * outputChannels * tiles, ldc: tiles)
                }
            }
            transformOutput(products, tiles: tiles, height: height, width: width, tileRows: band, tilesPerRow: tilesPerRow,
                            relu: relu, into: output)
        }
    }

    /// `V[ξ][c][t] = (Bᵀ d B)[ξ]` for the 4×4 input patch `d` of each tile (zero outside the image),
    /// with Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]]. The row half of the transform runs over
    /// whole zero-padded image rows, the column half writes each ξ as a contiguous run of tiles.
    private func transformInput(_ input: UnsafePointer<Float>, height: Int, width: Int, tileRows: Range<Int>, tilesPerRow: Int,
                                into v: UnsafeMutablePointer<Float>) {
        let tiles = tileRows.count * tilesPerRow
        let padded = 2 * tilesPerRow + 2  // columns −1 ... 2·tilesPerRow, zero beyond the image
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * padded) { buffer in
            let d = buffer.baseAddress!, t = d + 4 * padded
            for c in 0..<inputChannels {
                let plane = input + c * height * width
                for (bandRow, ty) in tileRows.enumerated() {
                    for r in 0..<4 {
                        let y = 2 * ty - 1 + r, row = d + r * padded
                        row.update(repeating: 0, count: padded)
                        if y >= 0 && y < height { (row + 1).update(from: plane + y * width, count: width) }
                    }
                    for x in 0..<padded {
                        let d0 = d[x], d1 = d[padded + x], d2 = d[2 * padded + x], d3 = d[3 * padded + x]
                        t[x] = d0 - d2
                        t[padded + x] = d1 + d2
                        t[2 * padded + x] = d2 - d1
                        t[3 * padded + x] = d1 - d3
                    }
                    let firstTile = bandRow * tilesPerRow
                    for r in 0..<4 {
                        let row = t + r * padded
                        let out0 = v + ((r * 4 + 0) * inputChannels + c) * tiles + firstTile
                        let out1 = v + ((r * 4 + 1) * inputChannels + c) * tiles + firstTile
                        let out2 = v + ((r * 4 + 2) * inputChannels + c) * tiles + firstTile
                        let out3 = v + ((r * 4 + 3) * inputChannels + c) * tiles + firstTile
                        for tx in 0..<tilesPerRow {
                            let x = 2 * tx  // padded index of image column 2·tx − 1
                            out0[tx] = row[x] - row[x + 2]
                            out1[tx] = row[x + 1] + row[x + 2]
                            out2[tx] = row[x + 2] - row[x + 1]
                            out3[tx] = row[x + 1] - row[x + 3]
                        }
                    }
                }
            }
        }
    }

    /// `Y = Aᵀ M A` per tile and output channel (Aᵀ = [[1,1,1,0],[0,1,−1,−1]]), plus bias and ReLU,
    /// a row of tiles at a time.
    private func transformOutput(_ m: UnsafePointer<Float>, tiles: Int, height: Int, width: Int, tileRows: Range<Int>, tilesPerRow: Int,
                                 relu: Bool, into output: UnsafeMutablePointer<Float>) {
        let stride = outputChannels * tiles
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * tilesPerRow) { buffer in
            let rows = buffer.baseAddress!  // [2][4][tilesPerRow]: Aᵀ applied to M's rows
            for o in 0..<outputChannels {
                let plane = output + o * height * width, b = bias[o]
                for (bandRow, ty) in tileRows.enumerated() {
                    let products = m + o * tiles + bandRow * tilesPerRow
                    for s in 0..<4 {
                        let m0 = products + s * stride, m1 = products + (4 + s) * stride
                        let m2 = products + (8 + s) * stride, m3 = products + (12 + s) * stride
                        let top = rows + s * tilesPerRow, bottom = rows + (4 + s) * tilesPerRow
                        for tx in 0..<tilesPerRow {
                            top[tx] = m0[tx] + m1[tx] + m2[tx]
                            bottom[tx] = m1[tx] - m2[tx] - m3[tx]
                        }
                    }
                    for r in 0..<2 where 2 * ty + r < height {
                        let source = rows + r * 4 * tilesPerRow, line = plane + (2 * ty + r) * width
                        let c0 = source, c1 = source + tilesPerRow, c2 = source + 2 * tilesPerRow, c3 = source + 3 * tilesPerRow
                        let fullPairs = width / 2
                        for tx in 0..<fullPairs {
                            var first = c0[tx] + c1[tx] + c2[tx] + b, second = c1[tx] - c2[tx] - c3[tx] + b
                            if relu { first = max(first, 0); second = max(second, 0) }
                            line[2 * tx] = first
                            line[2 * tx + 1] = second
                        }
                        if width % 2 == 1 {
                            let tx = fullPairs
                            let first = c0[tx] + c1[tx] + c2[tx] + b
                            line[2 * tx] = relu ? max(first, 0) : first
                        }
                    }
                }
            }
        }
    }
}
