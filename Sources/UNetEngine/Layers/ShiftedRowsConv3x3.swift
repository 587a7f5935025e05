/// A 3×3, stride-1, pad-1 convolution for inference that copies each input row only three times
/// (the three horizontal shifts) instead of nine: the vertical taps are the same column buffer
/// read one image row lower or higher, so a band costs three accumulating GEMMs
/// `out += W_ky · cols[rows shifted by ky]`. Built from the folded `Conv2D`.
struct ShiftedRowsConv3x3: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// `W_ky[out][in·3 + kx]` for ky = 0, 1, 2, one after the other.
    private let weightsByRow: [Float]
    private let bias: [Float]

    /// Columns per worker and band: 2 MiB, at least 512 pixels per GEMM (as `Conv2D`).
    static let bandBudget = 512 << 10
    static let minimumBandPixels = 512
    /// Below this, three GEMMs of depth 3·in lose to one im2col GEMM of depth 9·in.
    static let minimumInputChannels = 8

    init(_ conv: Conv2D) {
        precondition(conv.kernelSize == 3)
        inputChannels = conv.inputChannels
        outputChannels = conv.outputChannels
        bias = conv.bias
        let cin = conv.inputChannels, cout = conv.outputChannels
        var rows = [Float](repeating: 0, count: 3 * cout * cin * 3)
        for ky in 0..<3 {
            for o in 0..<cout {
                for c in 0..<cin {
                    for kx in 0..<3 { rows[(ky * cout + o) * cin * 3 + c * 3 + kx] = conv.weight[((o * cin + c) * 3 + ky) * 3 + kx] }
                }
            }
        }
        weightsByRow = rows
    }

    var columnRows: Int { inputChannels * 3 }

    func bandRows(height: Int, width: Int) -> Int {
        let pixels = max(Self.bandBudget / columnRows, Self.minimumBandPixels)
        return max(1, min((pixels + width - 1) / width, ParallelBands.largestBand(height)))
    }

    func scratchCount(height: Int, width: Int) -> Int {
        columnRows * (bandRows(height: height, width: width) + 2) * width
    }

    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                 scratch: UnsafeMutablePointer<Float>, scratchPerWorker: Int, parallel: ParallelBands) {
        let plane = height * width, bandRows = bandRows(height: height, width: width)
        parallel.forEach(count: height, chunk: bandRows) { worker, rows in
            let columns = scratch + worker * scratchPerWorker
            let span = (rows.count + 2) * width, pixels = rows.count * width
            precondition(columnRows * span <= scratchPerWorker, "scratch too small for one band")
            // Rows rows.lowerBound − 1 ... rows.upperBound of every channel, shifted by kx − 1 (zero outside).
            for c in 0..<inputChannels {
                let source = input + c * plane
                for kx in 0..<3 {
                    let destination = columns + (c * 3 + kx) * span
                    for j in 0..<(rows.count + 2) {
                        let y = rows.lowerBound - 1 + j
                        Conv2D.copyShiftedRow(y >= 0 && y < height ? source + y * width : nil, width: width, dx: kx - 1,
                                              into: destination + j * width)
                    }
                }
            }
            let band = output + rows.lowerBound * width
            for o in 0..<outputChannels { (band + o * plane).update(repeating: bias[o], count: pixels) }
            weightsByRow.withUnsafeBufferPointer { w in
                for ky in 0..<3 {
                    BLAS.gemm(m: outputChannels, n: pixels, k: columnRows, a: w.baseAddress! + ky * outputChannels * columnRows,
                              lda: columnRows, b: columns + ky * width, ldb: span, c: band, ldc: plane, beta: 1)
                }
            }
            if relu {
                for o in 0..<outputChannels {
                    let values = band + o * plane
                    for i in 0..<pixels { values[i] = max(values[i], 0) }
                }
            }
        }
    }
}
