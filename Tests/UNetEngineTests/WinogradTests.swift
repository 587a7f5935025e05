import Testing
import UNetCore
@testable import UNetEngine

/// Winograd F(2×2, 3×3) against the im2col convolution that the golden tests prove against PyTorch.
@Suite struct WinogradTests {
    @Test(arguments: [(64, 64, 13, 10), (64, 96, 8, 8), (128, 64, 1, 7), (64, 64, 33, 2)])
    func matchesTheDirectConvolution(inputs: Int, outputs: Int, height: Int, width: Int) {
        var generator = SystemRandomNumberGenerator()
        let weight = Tensor(shape: [outputs, inputs, 3, 3], scalars: (0..<(outputs * inputs * 9)).map { _ in Float.random(in: -0.1...0.1, using: &generator) })
        let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float.random(in: -1...1, using: &generator) })
        let conv = Conv2D(weight: weight, bias: bias)
        #expect(WinogradConv3x3.isWorthwhile(for: conv))
        let fast = WinogradConv3x3(conv)
        let input = (0..<(inputs * height * width)).map { _ in Float.random(in: 0...1, using: &generator) }
        let direct = conv.referenceOutput(input, height: height, width: width, relu: true)
        let scratchPerWorker = fast.scratchCount(width: width)
        var scratch = [Float](repeating: 0, count: 2 * scratchPerWorker)
        var winograd = [Float](repeating: 0, count: direct.count)
        input.withUnsafeBufferPointer { x in
            scratch.withUnsafeMutableBufferPointer { s in
                winograd.withUnsafeMutableBufferPointer { y in
                    fast.forward(input: x.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: true,
                                 scratch: s.baseAddress!, scratchPerWorker: scratchPerWorker, parallel: ParallelBands(workers: 2))
                }
            }
        }
        let worst = zip(direct, winograd).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "largest difference \(worst)")
        #expect(direct.contains { $0 > 0 })
    }
}
