extension Conv2D {
    /// This 1×1 convolution (the network's output layer) over the rows `rows` of an input
    /// `[inputChannels, height, width]`: `output[k][p] = bias[k] + Σ_c weight[k][c] · input[c][p]`, the sum
    /// formed over c in order (each product rounded, then added), then the bias added; with `roundedToBF16`, each
    /// output rounded to bf16 as autocast's bf16 convolution returns it. Meant for rows a kernel has just
    /// written (`DoubleConv.forward`'s `finishedRows`), which are still in cache.
    func pointwise(input: UnsafePointer<Float>, height: Int, width: Int, rows: Range<Int>, output: UnsafeMutablePointer<Float>,
                   roundedToBF16: Bool) {
        precondition(kernelSize == 1, "pointwise is for 1×1 convolutions")
        let plane = height * width, start = rows.lowerBound * width, count = rows.count * width
        weight.withUnsafeBufferPointer { weight in
            for k in 0..<outputChannels {
                let sums = output + k * plane + start
                sums.update(repeating: 0, count: count)
                for c in 0..<inputChannels {
                    let source = input + c * plane + start, w = weight[k * inputChannels + c]
                    for p in 0..<count { sums[p] += w * source[p] }  // not addProduct: without FMA in the baseline ISA it is a libm call
                }
                let b = bias[k]
                for p in 0..<count { sums[p] += b }
                if roundedToBF16 { BFloat16.round(sums, count: count) }
            }
        }
    }
}
