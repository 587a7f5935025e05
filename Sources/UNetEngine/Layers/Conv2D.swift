import UNetCore

/// A stride-1 convolution with "same" zero padding (3×3 pad 1 or 1×1), NCHW, batch 1, as an
/// im2col + GEMM over bands of output rows so the column buffer stays bounded whatever the tile size.
///
/// Weights are `[out, in·k·k]` row-major, exactly PyTorch's `[out, in, k, k]` flattened.
struct Conv2D: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    let kernelSize: Int
    var weight: [Float]
    var bias: [Float]

    init(weight: Tensor, bias: Tensor?) {
        precondition(weight.shape.count == 4 && weight.shape[2] == weight.shape[3] && weight.shape[2] % 2 == 1)
        outputChannels = weight.shape[0]
        inputChannels = weight.shape[1]
        kernelSize = weight.shape[2]
        self.weight = weight.scalars
        self.bias = bias?.scalars ?? [Float](repeating: 0, count: outputChannels)
    }

    /// The same convolution with weights and bias rounded to bf16 (`Precision.bf16`).
    func roundedToBF16() -> Conv2D {
        var rounded = self
        rounded.weight = BFloat16.rounded(weight)
        rounded.bias = BFloat16.rounded(bias)
        return rounded
    }

    /// The same shape without weights, for layers whose kernels keep the weights in their own layout.
    var shapeOnly: Conv2D {
        var shape = self
        shape.weight = []
        return shape
    }

    /// Rows of the im2col matrix (the GEMM's inner dimension).
    var columnRows: Int { inputChannels * kernelSize * kernelSize }

    /// This convolution followed by an eval-mode BatchNorm, as one convolution:
    /// `w' = w·γ/√(σ²+ε)`, `b' = (b − μ)·γ/√(σ²+ε) + β`, computed in double precision.
    func folding(_ norm: BatchNorm2D) -> Conv2D {
        var folded = self
        let perChannel = columnRows
        for channel in 0..<outputChannels {
            let scale = Double(norm.weight[channel]) / (Double(norm.runningVariance[channel]) + Double(norm.epsilon)).squareRoot()
            for i in 0..<perChannel { folded.weight[channel * perChannel + i] = Float(Double(weight[channel * perChannel + i]) * scale) }
            folded.bias[channel] = Float((Double(bias[channel]) - Double(norm.runningMean[channel])) * scale + Double(norm.bias[channel]))
        }
        return folded
    }

    /// `output[out, H, W] = act(conv(input[in, H, W]) + bias)`. Output rows are cut into bands whose
    /// im2col block fits `columnsPerWorker` (sized for the L2 cache); bands run on `parallel`'s workers,
    /// worker `i` using `scratch[i·columnsPerWorker ..< (i+1)·columnsPerWorker]`.
    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                 scratch: UnsafeMutablePointer<Float>, columnsPerWorker: Int, parallel: ParallelBands) {
        let plane = height * width
        if kernelSize == 1 {
            parallel.forEach(count: plane, chunk: ParallelBands.largestBand(plane)) { _, pixels in
                weight.withUnsafeBufferPointer { w in
                    BLAS.gemm(m: outputChannels, n: pixels.count, k: inputChannels, a: w.baseAddress!, lda: inputChannels,
                              b: input + pixels.lowerBound, ldb: plane, c: output + pixels.lowerBound, ldc: plane)
                }
                addBias(output: output, plane: plane, start: pixels.lowerBound, count: pixels.count, relu: relu)
            }
            return
        }
        let bandRows = self.bandRows(height: height, width: width)
        precondition(bandRows * width * columnRows <= columnsPerWorker, "im2col scratch too small for one band")
        parallel.forEach(count: height, chunk: bandRows) { worker, rows in
            let columns = scratch + worker * columnsPerWorker
            let pixels = rows.count * width
            im2col(input: input, height: height, width: width, firstRow: rows.lowerBound, rows: rows.count, columns: columns)
            // Start from the bias and accumulate (beta = 1): OpenBLAS then skips its zeroing pass.
            fillBias(output: output, plane: plane, start: rows.lowerBound * width, count: pixels)
            weight.withUnsafeBufferPointer { w in
                BLAS.gemm(m: outputChannels, n: pixels, k: columnRows, a: w.baseAddress!, lda: columnRows,
                          b: columns, ldb: pixels, c: output + rows.lowerBound * width, ldc: plane, beta: 1)
            }
            if relu { rectify(output: output, plane: plane, start: rows.lowerBound * width, count: pixels) }
        }
    }

    /// Output rows per im2col band: about `bandBudget` floats of columns, but never fewer than
    /// `minimumBandPixels` pixels (so wide-K layers do not repack their weights for every sliver), and
    /// no more than `ParallelBands.largestBand`.
    func bandRows(height: Int, width: Int) -> Int {
        let pixels = max(Self.bandBudget / columnRows, Self.minimumBandPixels)
        let rows = (pixels + width - 1) / width
        return max(1, min(rows, ParallelBands.largestBand(height)))
    }

    /// 2 MiB of columns per worker and at least 512 pixels per GEMM: measured best of 128 KiB–8 MiB
    /// budgets and 256–8192-pixel minimums on 2-core Zen 4 (BENCHMARKS.md), though within noise.
    static let bandBudget = 512 << 10
    static let minimumBandPixels = 512

    /// Fills `columns[(c·k + ky)·k + kx, r·W + x] = input[c, firstRow + r + ky − pad, x + kx − pad]` (zero outside).
    func im2col(input: UnsafePointer<Float>, height: Int, width: Int, firstRow: Int, rows: Int,
                columns: UnsafeMutablePointer<Float>) {
        let k = kernelSize, pad = kernelSize / 2, pixels = rows * width
        for channel in 0..<inputChannels {
            let source = input + channel * height * width
            for ky in 0..<k {
                for kx in 0..<k {
                    let destination = columns + ((channel * k + ky) * k + kx) * pixels
                    for r in 0..<rows {
                        let y = firstRow + r + ky - pad
                        Self.copyShiftedRow(y >= 0 && y < height ? source + y * width : nil, width: width, dx: kx - pad,
                                            into: destination + r * width)
                    }
                }
            }
        }
    }

    /// `row[x] = source[x + dx]`, zero where `x + dx` leaves the row, or all zero when `source` is nil
    /// (a row above or below the image): one row of an im2col-style buffer.
    @inline(__always)
    static func copyShiftedRow(_ source: UnsafePointer<Float>?, width: Int, dx: Int, into row: UnsafeMutablePointer<Float>) {
        guard let source else { row.update(repeating: 0, count: width); return }
        let validStart = max(0, -dx), validEnd = min(width, width - dx)
        if validStart > 0 { row.update(repeating: 0, count: validStart) }
        (row + validStart).update(from: source + validStart + dx, count: validEnd - validStart)
        if validEnd < width { (row + validEnd).update(repeating: 0, count: width - validEnd) }
    }

    private func fillBias(output: UnsafeMutablePointer<Float>, plane: Int, start: Int, count: Int) {
        for channel in 0..<outputChannels { (output + channel * plane + start).update(repeating: bias[channel], count: count) }
    }

    private func rectify(output: UnsafeMutablePointer<Float>, plane: Int, start: Int, count: Int) {
        for channel in 0..<outputChannels {
            let values = output + channel * plane + start
            for i in 0..<count { values[i] = max(values[i], 0) }
        }
    }

    private func addBias(output: UnsafeMutablePointer<Float>, plane: Int, start: Int, count: Int, relu: Bool) {
        for channel in 0..<outputChannels {
            let values = output + channel * plane + start
            let b = bias[channel]
            if relu {
                for i in 0..<count { values[i] = max(values[i] + b, 0) }
            } else {
                for i in 0..<count { values[i] += b }
            }
        }
    }
}
