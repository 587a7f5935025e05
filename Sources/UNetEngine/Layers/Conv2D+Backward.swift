extension Conv2D {
    /// Gradients of `output = conv(input) + bias` for one image, given `outputGradient`:
    /// `weightGradient += dY·colᵀ`, `biasGradient += Σ dY`, and `inputGradient = col2im(Wᵀ·dY)`
    /// (overwritten). Uses the same bands and im2col as `forward`, single-threaded: training runs
    /// images of a batch on separate workers instead.
    func backward(input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, height: Int, width: Int,
                  inputGradient: UnsafeMutablePointer<Float>?, weightGradient: UnsafeMutablePointer<Float>,
                  biasGradient: UnsafeMutablePointer<Float>?, columns: UnsafeMutablePointer<Float>,
                  columnGradient: UnsafeMutablePointer<Float>, columnCapacity: Int) {
        let plane = height * width
        if let biasGradient {
            for channel in 0..<outputChannels {
                var sum: Float = 0
                let values = outputGradient + channel * plane
                for i in 0..<plane { sum += values[i] }
                biasGradient[channel] += sum
            }
        }
        if kernelSize == 1 {
            weight.withUnsafeBufferPointer { w in
                BLAS.gemm(m: outputChannels, n: inputChannels, k: plane, a: outputGradient, lda: plane,
                          b: input, ldb: plane, transposeB: true, c: weightGradient, ldc: inputChannels, beta: 1)
                if let inputGradient {
                    BLAS.gemm(m: inputChannels, n: plane, k: outputChannels, a: w.baseAddress!, lda: inputChannels, transposeA: true,
                              b: outputGradient, ldb: plane, c: inputGradient, ldc: plane)
                }
            }
            return
        }
        inputGradient?.update(repeating: 0, count: inputChannels * plane)
        let bandRows = max(1, min(height, columnCapacity / (columnRows * width)))
        var firstRow = 0
        while firstRow < height {
            let rows = min(bandRows, height - firstRow), pixels = rows * width
            im2col(input: input, height: height, width: width, firstRow: firstRow, rows: rows, columns: columns)
            let gradientBand = outputGradient + firstRow * width
            BLAS.gemm(m: outputChannels, n: columnRows, k: pixels, a: gradientBand, lda: plane,
                      b: columns, ldb: pixels, transposeB: true, c: weightGradient, ldc: columnRows, beta: 1)
            if let inputGradient {
                weight.withUnsafeBufferPointer { w in
                    BLAS.gemm(m: columnRows, n: pixels, k: outputChannels, a: w.baseAddress!, lda: columnRows, transposeA: true,
                              b: gradientBand, ldb: plane, c: columnGradient, ldc: pixels)
                }
                col2im(columnGradient, height: height, width: width, firstRow: firstRow, rows: rows, into: inputGradient)
            }
            firstRow += rows
        }
    }

    /// Adds each im2col entry's gradient back to the input pixel it was copied from (the adjoint of im2col).
    private func col2im(_ columns: UnsafePointer<Float>, height: Int, width: Int, firstRow: Int, rows: Int,
                        into gradient: UnsafeMutablePointer<Float>) {
        let k = kernelSize, pad = kernelSize / 2, pixels = rows * width
        for channel in 0..<inputChannels {
            let target = gradient + channel * height * width
            for ky in 0..<k {
                for kx in 0..<k {
                    let source = columns + ((channel * k + ky) * k + kx) * pixels
                    let dx = kx - pad
                    let validStart = max(0, -dx), validEnd = min(width, width - dx)
                    for r in 0..<rows {
                        let y = firstRow + r + ky - pad
                        guard y >= 0 && y < height else { continue }
                        let row = source + r * width, destination = target + y * width + dx
                        for x in validStart..<validEnd { destination[x] += row[x] }
                    }
                }
            }
        }
    }
}
