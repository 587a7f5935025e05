import TestSupport
import Testing
import UNetCore
@testable import UNetEngine

/// The engine's own 3×3 kernels against the im2col convolution the golden tests prove against PyTorch,
/// on shapes that leave partial channel blocks and partial vectors. Paths this CPU lacks are skipped.
@Suite struct DirectConvTests {
    static let shapes = [(3, 16, 9, 37), (16, 13, 5, 70), (5, 9, 1, 1), (32, 40, 17, 16), (8, 8, 33, 49)]

    @Test(arguments: shapes) func portableCopyOfTheAVX512Kernel(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectMatchesIm2col(.portable16, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test(.enabled(if: CPUPath.avx2.isSupported, "this CPU has no AVX2 with FMA"), arguments: shapes)
    func avx2Kernel(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectMatchesIm2col(.avx2, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test(.enabled(if: CPUPath.avx512.isSupported, "this CPU has no AVX-512"), arguments: shapes)
    func avx512Kernel(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectMatchesIm2col(.avx512, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test(arguments: shapes) func portableCopyOfTheBF16PairKernel(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectMatchesIm2col(.portableBF16, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test(.enabled(if: CPUPath.avx512bf16.isSupported, "this CPU has no AVX-512 BF16"), arguments: shapes)
    func avx512bf16Kernel(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectMatchesIm2col(.avx512bf16, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test(arguments: shapes) func portableBF16StoreAppliesTheBatchNormAsItsOwnPassWould(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectFusedBatchNormMatchesThePass(.portableBF16, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test(.enabled(if: CPUPath.avx512bf16.isSupported, "this CPU has no AVX-512 BF16"), arguments: shapes)
    func avx512bf16StoreAppliesTheBatchNormAsItsOwnPassWould(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectFusedBatchNormMatchesThePass(.avx512bf16, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test func pathRequestsFallBackWithAWarning() {
        #expect(CPUPath.resolve(nil) == (CPUPath.detected, nil))
        #expect(CPUPath.resolve("generic").path == .generic)
        #expect(CPUPath.resolve("GENERIC").path == .generic)
        let unknown = CPUPath.resolve("sse9")
        #expect(unknown.path == CPUPath.detected)
        #expect(unknown.warning?.contains("UNET_CPU=sse9 is not one of generic|avx2|avx512|avx512bf16") == true)
        if let missing = CPUPath.allCases.first(where: { !$0.isSupported }) {
            let fallback = CPUPath.resolve(missing.rawValue)
            #expect(fallback.path == CPUPath.detected)
            #expect(fallback.warning?.contains("lacks the instructions") == true)
        }
        #expect(CPUPath.detected.isSupported)
    }

    @Test(arguments: shapes) func portableBF16PairedOutputFeedsTheNextLayer(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectPairedOutputMatchesPadding(.portableBF16, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    @Test(.enabled(if: CPUPath.avx512bf16.isSupported, "this CPU has no AVX-512 BF16"), arguments: shapes)
    func avx512bf16PairedOutputFeedsTheNextLayer(inputs: Int, outputs: Int, height: Int, width: Int) {
        expectPairedOutputMatchesPadding(.avx512bf16, inputs: inputs, outputs: outputs, height: height, width: width)
    }

    /// Two bf16 layers, the first storing its output (through its BatchNorm) straight into the second's
    /// padded pairs, against the same two layers through an fp32 plane and the second's padding pass: bit
    /// for bit, with scratch full of NaN so that a border left unwritten would show.
    private func expectPairedOutputMatchesPadding(_ kernel: DirectConv3x3.Kernel, inputs: Int, outputs: Int, height: Int, width: Int) {
        var generator = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        func layer(_ inputs: Int, _ outputs: Int) -> DirectConv3x3 {
            let weight = Tensor(shape: [outputs, inputs, 3, 3], scalars: (0..<(outputs * inputs * 9)).map { _ in Float.random(in: -0.3...0.3, using: &generator) })
            let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
            return DirectConv3x3(Conv2D(weight: weight, bias: bias).roundedToBF16(), kernel: kernel)
        }
        let first = layer(inputs, outputs), second = layer(outputs, 5)
        let norm = (scale: (0..<outputs).map { _ in Float.random(in: -2...2, using: &generator) },
                    shift: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        let input = (0..<(inputs * height * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        let parallel = ParallelBands(workers: 2)
        let firstPadded = first.paddedCount(height: height, width: width)
        var scratch = [Float](repeating: .nan, count: firstPadded + second.paddedCount(height: height, width: width))
        var middle = [Float](repeating: .nan, count: outputs * height * width)
        var throughPlane = [Float](repeating: .nan, count: 5 * height * width), paired = throughPlane
        input.withUnsafeBufferPointer { x in
            scratch.withUnsafeMutableBufferPointer { s in
                middle.withUnsafeMutableBufferPointer { m in
                    let pairs = UnsafeMutablePointer<UInt32>(OpaquePointer(s.baseAddress! + firstPadded))
                    throughPlane.withUnsafeMutableBufferPointer { y in
                        first.forward(input: x.baseAddress!, height: height, width: width, output: m.baseAddress!, relu: false,
                                      scratch: s.baseAddress!, parallel: parallel, bf16BatchNorm: norm)
                        second.forward(input: m.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: true,
                                       scratch: s.baseAddress!, parallel: parallel)
                    }
                    s.update(repeating: .nan)
                    paired.withUnsafeMutableBufferPointer { y in
                        first.forward(input: x.baseAddress!, height: height, width: width, output: m.baseAddress!, relu: false,
                                      scratch: s.baseAddress!, parallel: parallel, bf16BatchNorm: norm, pairedOutput: pairs)
                        second.forward(input: m.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: true,
                                       scratch: s.baseAddress!, parallel: parallel, paddedInput: pairs)
                    }
                }
            }
        }
        let differing = zip(throughPlane, paired).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "seed \(TestSeed.value), \(kernel): \(differing) of \(paired.count) outputs differ")
        // Not vacuous: some output passed the ReLU. (Not asked of a 1×1 image: its 5 outputs are all
        // negative one time in 32.)
        if paired.count >= 64 { #expect(paired.contains { $0 > 0 }) }
    }

    /// Each chunk of rows max-pooled 2×2 as soon as the kernel has written it, against `MaxPool2x2` over
    /// the whole output: bit for bit, for every kernel this CPU runs (the bf16 ones through a BatchNorm
    /// in their store), at odd sizes and with 1, 2 and 3 workers (chunks of other lengths).
    @Test(arguments: shapes) func poolingEachChunkAsItIsWrittenMatchesThePass(inputs: Int, outputs: Int, height: Int, width: Int) {
        let kernels: [DirectConv3x3.Kernel] = [.portable16, .portableBF16] + (CPUPath.avx2.isSupported ? [.avx2] : [])
            + (CPUPath.avx512.isSupported ? [.avx512] : []) + (CPUPath.avx512bf16.isSupported ? [.avx512bf16] : [])
        var generator = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        let weight = Tensor(shape: [outputs, inputs, 3, 3], scalars: (0..<(outputs * inputs * 9)).map { _ in Float.random(in: -0.3...0.3, using: &generator) })
        let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        let input = (0..<(inputs * height * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        let norm = (scale: (0..<outputs).map { _ in Float.random(in: -2...2, using: &generator) },
                    shift: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        for kernel in kernels {
            let pairs = kernel.takesBF16Pairs
            let conv = pairs ? Conv2D(weight: weight, bias: bias).roundedToBF16() : Conv2D(weight: weight, bias: bias)
            let direct = DirectConv3x3(conv, kernel: kernel)
            for workers in 1...3 {
                var scratch = [Float](repeating: .nan, count: workers * direct.scratchCount(height: height, width: width, workers: workers))
                var output = [Float](repeating: .nan, count: outputs * height * width)
                var pooled = [Float](repeating: .nan, count: outputs * (height / 2) * (width / 2)), expected = pooled
                input.withUnsafeBufferPointer { x in
                    scratch.withUnsafeMutableBufferPointer { s in
                        output.withUnsafeMutableBufferPointer { y in
                            pooled.withUnsafeMutableBufferPointer { p in
                                direct.forward(input: x.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: !pairs,
                                               scratch: s.baseAddress!, parallel: ParallelBands(workers: workers),
                                               bf16BatchNorm: pairs ? norm : nil, pooled: p.baseAddress!)
                            }
                            expected.withUnsafeMutableBufferPointer { e in
                                MaxPool2x2.forward(input: y.baseAddress!, channels: outputs, height: height, width: width, output: e.baseAddress!)
                            }
                        }
                    }
                }
                let differing = zip(expected, pooled).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "seed \(TestSeed.value), \(kernel), \(workers) workers: \(differing) of \(pooled.count) pooled values differ")
            }
        }
    }

    /// The bf16 kernel with a BatchNorm in its store against the same kernel followed by
    /// `BFloat16.roundThroughBatchNorm`: bit for bit, NaN and huge inputs included.
    private func expectFusedBatchNormMatchesThePass(_ kernel: DirectConv3x3.Kernel, inputs: Int, outputs: Int, height: Int, width: Int) {
        var generator = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        let weight = Tensor(shape: [outputs, inputs, 3, 3], scalars: (0..<(outputs * inputs * 9)).map { _ in Float.random(in: -0.3...0.3, using: &generator) })
        let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        let direct = DirectConv3x3(Conv2D(weight: weight, bias: bias).roundedToBF16(), kernel: kernel)
        var input = (0..<(inputs * height * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        input[0] = .nan
        if input.count > 1 { input[input.count - 1] = 3e38 }
        let norm = (scale: (0..<outputs).map { _ in Float.random(in: -2...2, using: &generator) },
                    shift: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        let parallel = ParallelBands(workers: 2)
        var scratch = [Float](repeating: .nan, count: 2 * direct.scratchCount(height: height, width: width, workers: 2))
        var separate = [Float](repeating: .nan, count: outputs * height * width), fused = separate
        func run(into output: inout [Float], fusing: Bool) {
            input.withUnsafeBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { s in
                    output.withUnsafeMutableBufferPointer { y in
                        direct.forward(input: x.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: false,
                                       scratch: s.baseAddress!, parallel: parallel, bf16BatchNorm: fusing ? norm : nil)
                        if !fusing {
                            BFloat16.roundThroughBatchNorm(y.baseAddress!, scale: norm.scale, shift: norm.shift, plane: height * width,
                                                           parallel: parallel)
                        }
                    }
                }
            }
        }
        run(into: &separate, fusing: false)
        run(into: &fused, fusing: true)
        let differing = zip(separate, fused).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "seed \(TestSeed.value), \(kernel): \(differing) of \(fused.count) outputs differ from the separate pass")
        #expect(fused.contains { $0.isNaN }, "the NaN input reaches some output")
    }

    private func expectMatchesIm2col(_ kernel: DirectConv3x3.Kernel, inputs: Int, outputs: Int, height: Int, width: Int) {
        var generator = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        let weight = Tensor(shape: [outputs, inputs, 3, 3], scalars: (0..<(outputs * inputs * 9)).map { _ in Float.random(in: -0.3...0.3, using: &generator) })
        let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        // The bf16-pair kernels round input and weights themselves: their reference is the fp32
        // convolution of the rounded values (each product exact, sums in fp32).
        let pairs = kernel.takesBF16Pairs
        let conv = pairs ? Conv2D(weight: weight, bias: bias).roundedToBF16() : Conv2D(weight: weight, bias: bias)
        let direct = DirectConv3x3(conv, kernel: kernel)
        let raw = (0..<(inputs * height * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        let input = pairs ? BFloat16.rounded(raw) : raw
        var scratch = [Float](repeating: .nan, count: 2 * direct.scratchCount(height: height, width: width, workers: 2))
        for relu in [false, true] {
            let expected = conv.referenceOutput(input, height: height, width: width, relu: relu)
            var actual = [Float](repeating: .nan, count: expected.count)
            raw.withUnsafeBufferPointer { x in  // the bf16-pair kernels must round it themselves
                scratch.withUnsafeMutableBufferPointer { s in
                    actual.withUnsafeMutableBufferPointer { y in
                        direct.forward(input: x.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: relu,
                                       scratch: s.baseAddress!, parallel: ParallelBands(workers: 2))
                    }
                }
            }
            let worst = zip(expected, actual).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "seed \(TestSeed.value), \(kernel), relu \(relu): largest difference \(worst)")
            // (Only with ReLU: without it, a 1×1 layer's few outputs are all positive one time in 512.)
            if relu { #expect(actual.allSatisfy { $0 >= 0 }) }
        }
    }
}
