import Testing
import UNetCore
@testable import UNetEngine

/// Winograd F(4×4, 3×3) against the im2col convolution that the golden tests prove against PyTorch,
/// with both instantiations of the transforms, at sizes that cut the last tile row and column. The AVX2
/// path also runs the own strip GEMM, here with partial blocks of rows (16, 40, 64 outputs) and partial
/// last strips (bands of 18, 12, 5 tiles).
@Suite struct WinogradTests {
    static let shapes = [(64, 64, 13, 10), (64, 96, 8, 8), (128, 64, 1, 7), (64, 64, 33, 2), (16, 16, 17, 23), (32, 16, 4, 4),
                         (16, 32, 6, 5), (24, 40, 3, 1)]

    @Test(arguments: shapes)
    func portableTransformsMatchTheDirectConvolution(shape: (Int, Int, Int, Int)) {
        check(shape, vectorised: false)
    }

    @Test(.enabled(if: CPUPath.avx2.isSupported, "this CPU has no AVX2 with FMA"), arguments: shapes)
    func avx2TransformsMatchTheDirectConvolution(shape: (Int, Int, Int, Int)) {
        check(shape, vectorised: true)
    }

    private func check(_ shape: (inputs: Int, outputs: Int, height: Int, width: Int), vectorised: Bool) {
        let (inputs, outputs, height, width) = shape
        var generator = SystemRandomNumberGenerator()
        let weight = Tensor(shape: [outputs, inputs, 3, 3], scalars: (0..<(outputs * inputs * 9)).map { _ in Float.random(in: -0.1...0.1, using: &generator) })
        let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float.random(in: -1...1, using: &generator) })
        let conv = Conv2D(weight: weight, bias: bias)
        #expect(WinogradConv3x3.isWorthwhile(for: conv, directKernel: nil))
        let fast = WinogradConv3x3(conv, vectorised: vectorised)
        let input = (0..<(inputs * height * width)).map { _ in Float.random(in: 0...1, using: &generator) }
        let direct = conv.referenceOutput(input, height: height, width: width, relu: true)
        let scratchPerWorker = fast.scratchCount(height: height, width: width)
        var scratch = [Float](repeating: 0, count: 2 * scratchPerWorker)
        var winograd = [Float](repeating: -1, count: direct.count)
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
