import UNetCore

/// `nn.ConvTranspose2d(in, out, kernel_size=2, stride=2)`: every input pixel spreads into a 2×2 block.
/// Done as one GEMM `[out·4, in] × [in, h·w]` followed by a scatter into the padded placement.
struct TransposedConv2x2: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// Row `(o·4 + dy·2 + dx)` holds PyTorch's `weight[:, o, dy, dx]`.
    var weightRows: [Float]
    var bias: [Float]

    init(weight: Tensor, bias: Tensor, roundedToBF16: Bool = false) {
        inputChannels = weight.shape[0]
        outputChannels = weight.shape[1]
        var rows = [Float](repeating: 0, count: outputChannels * 4 * inputChannels)
        for i in 0..<inputChannels {
            for o in 0..<outputChannels {
                for d in 0..<4 { rows[(o * 4 + d) * inputChannels + i] = weight.scalars[(i * outputChannels + o) * 4 + d] }
            }
        }
        weightRows = roundedToBF16 ? BFloat16.rounded(rows) : rows
        self.bias = roundedToBF16 ? BFloat16.rounded(bias.scalars) : bias.scalars
    }

    /// Scratch elements `forward` needs for an `height × width` input.
    func scratchCount(height: Int, width: Int) -> Int { outputChannels * 4 * height * width }

    func forward(input: UnsafePointer<Float>, height: Int, width: Int,
                 output: UnsafeMutablePointer<Float>, placement: PaddedPlacement, scratch: UnsafeMutablePointer<Float>,
                 parallel: ParallelBands) {
        let pixels = height * width
        parallel.forEach(count: pixels, chunk: ParallelBands.largestBand(pixels)) { _, columns in
            weightRows.withUnsafeBufferPointer { w in
                BLAS.gemm(m: outputChannels * 4, n: columns.count, k: inputChannels, a: w.baseAddress!, lda: inputChannels,
                          b: input + columns.lowerBound, ldb: pixels, c: scratch + columns.lowerBound, ldc: pixels)
            }
        }
        let plane = placement.height * placement.width
        if placement.needsZeroFill(sourceHeight: 2 * height, sourceWidth: 2 * width) {
            output.update(repeating: 0, count: outputChannels * plane)
        }
        for o in 0..<outputChannels {
            let destination = output + o * plane
            let b = bias[o]
            for d in 0..<4 {
                let dy = d / 2, dx = d % 2
                let products = scratch + (o * 4 + d) * pixels
                for y in 0..<height {
                    let outY = 2 * y + dy + placement.top
                    guard outY >= 0 && outY < placement.height else { continue }
                    let row = destination + outY * placement.width
                    for x in 0..<width {
                        let outX = 2 * x + dx + placement.left
                        if outX >= 0 && outX < placement.width { row[outX] = products[y * width + x] + b }
                    }
                }
            }
        }
    }
}
