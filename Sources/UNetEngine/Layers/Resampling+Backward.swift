extension MaxPool2x2 {
    /// Routes each pooled gradient to the input position that held the maximum (the first in scan
    /// order on ties, as PyTorch does). `inputGradient` is overwritten.
    static func backward(input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                         inputGradient: UnsafeMutablePointer<Float>) {
        let outHeight = height / 2, outWidth = width / 2
        inputGradient.update(repeating: 0, count: channels * height * width)
        for c in 0..<channels {
            let source = input + c * height * width, target = inputGradient + c * height * width
            let gradient = outputGradient + c * outHeight * outWidth
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    var best = (2 * y) * width + 2 * x
                    for candidate in [best + 1, best + width, best + width + 1] where source[candidate] > source[best] { best = candidate }
                    target[best] += gradient[y * outWidth + x]
                }
            }
        }
    }
}

extension BilinearUpsample2x {
    /// The adjoint of `forward`: spreads each output gradient back over its four source pixels.
    /// `inputGradient` is overwritten.
    static func backward(outputGradient: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                         placement: PaddedPlacement, inputGradient: UnsafeMutablePointer<Float>) {
        let outHeight = 2 * height, outWidth = 2 * width
        let rows = interpolation(input: height, output: outHeight), columns = interpolation(input: width, output: outWidth)
        inputGradient.update(repeating: 0, count: channels * height * width)
        let yRange = max(0, -placement.top)..<min(outHeight, placement.height - placement.top)
        let xRange = max(0, -placement.left)..<min(outWidth, placement.width - placement.left)
        for c in 0..<channels {
            let target = inputGradient + c * height * width
            let source = outputGradient + c * placement.height * placement.width
            for y in yRange {
                let (y0, y1, wy0, wy1) = rows[y]
                let gradientRow = source + (y + placement.top) * placement.width + placement.left
                for x in xRange {
                    let (x0, x1, wx0, wx1) = columns[x], g = gradientRow[x]
                    target[y0 * width + x0] += wy0 * wx0 * g
                    target[y0 * width + x1] += wy0 * wx1 * g
                    target[y1 * width + x0] += wy1 * wx0 * g
                    target[y1 * width + x1] += wy1 * wx1 * g
                }
            }
        }
    }
}

extension TransposedConv2x2 {
    /// Gradients for one image: gathers the output gradient into `[out·4, h·w]`, then
    /// `dWrows += G·inputᵀ`, `db += Σ G`, `inputGradient = Wrowsᵀ·G` (overwritten).
    func backward(input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, height: Int, width: Int,
                  placement: PaddedPlacement, inputGradient: UnsafeMutablePointer<Float>,
                  weightRowsGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>) {
        let pixels = height * width, plane = placement.height * placement.width
        for o in 0..<outputChannels {
            for d in 0..<4 {
                let dy = d / 2, dx = d % 2
                let gathered = scratch + (o * 4 + d) * pixels
                var sum: Float = 0
                for y in 0..<height {
                    let outY = 2 * y + dy + placement.top
                    for x in 0..<width {
                        let outX = 2 * x + dx + placement.left
                        let inside = outY >= 0 && outY < placement.height && outX >= 0 && outX < placement.width
                        let g = inside ? outputGradient[o * plane + outY * placement.width + outX] : 0
                        gathered[y * width + x] = g
                        sum += g
                    }
                }
                biasGradient[o] += sum
            }
        }
        BLAS.gemm(m: outputChannels * 4, n: inputChannels, k: pixels, a: scratch, lda: pixels,
                  b: input, ldb: pixels, transposeB: true, c: weightRowsGradient, ldc: inputChannels, beta: 1)
        weightRows.withUnsafeBufferPointer { w in
            BLAS.gemm(m: inputChannels, n: pixels, k: outputChannels * 4, a: w.baseAddress!, lda: inputChannels, transposeA: true,
                      b: scratch, ldb: pixels, c: inputGradient, ldc: pixels)
        }
    }

    /// PyTorch's `[in, out, 2, 2]` weight from the GEMM row layout (the inverse of `init`).
    static func torchWeight(fromRows rows: UnsafePointer<Float>, inputChannels: Int, outputChannels: Int) -> [Float] {
        var weight = [Float](repeating: 0, count: inputChannels * outputChannels * 4)
        for i in 0..<inputChannels {
            for o in 0..<outputChannels {
                for d in 0..<4 { weight[(i * outputChannels + o) * 4 + d] = rows[(o * 4 + d) * inputChannels + i] }
            }
        }
        return weight
    }
}
