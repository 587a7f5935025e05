import Synchronization
import TestSupport
import Testing
import UNetCore
@testable import UNetEngine

/// `ConvolutionKernel.forward`'s `finishedRows`, which the network's 1×1 output layer runs on (and the
/// encoder's pooling, for the direct kernels): every kernel must hand over every output row exactly
/// once, and only when every channel of it is final. Each report is checked against the finished
/// layer; the 1×1 layer on reported rows against the full 1×1 pass.
@Suite struct FinishedRowsTests {
    /// (inputs, outputs, height, width): Winograd as one band and cut into bands, odd sizes.
    static let shapes = [(16, 16, 13, 11), (16, 24, 40, 37), (8, 16, 9, 70)]

    @Test(arguments: shapes)
    func everyKernelReportsEachRowOnceAndOnlyWhenFinal(shape: (Int, Int, Int, Int)) {
        let (inputs, outputs, height, width) = shape
        var generator = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        let weight = Tensor(shape: [outputs, inputs, 3, 3], scalars: (0..<(outputs * inputs * 9)).map { _ in Float.random(in: -0.2...0.2, using: &generator) })
        let bias = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        let conv = Conv2D(weight: weight, bias: bias), rounded = conv.roundedToBF16()
        let input = BFloat16.rounded((0..<(inputs * height * width)).map { _ in Float.random(in: 0...1, using: &generator) })
        let norm = (scale: (0..<outputs).map { _ in Float.random(in: 0.5...2, using: &generator) },
                    shift: (0..<outputs).map { _ in Float.random(in: -0.5...0.5, using: &generator) })
        let kernels: [(String, DoubleConv.ConvolutionKernel.Choice, (scale: [Float], shift: [Float])?)] = [
            ("winograd", .winograd(WinogradConv3x3(conv, vectorised: false)), nil),
            ("winograd bf16", .winograd(WinogradConv3x3(rounded, vectorised: false, bf16Products: true)), norm),
            ("direct", .direct(DirectConv3x3(conv, kernel: .portable16), wide: nil), nil),
            ("direct floats, BatchNorm pass", .direct(DirectConv3x3(rounded, kernel: .portable16), wide: nil), norm),
            ("direct bf16 pairs", .direct(DirectConv3x3(rounded, kernel: .portableBF16), wide: nil), norm),
            ("shifted rows", .shiftedRows(ShiftedRowsConv3x3(conv)), nil),
            ("im2col", .im2col(conv), nil),
        ]
        for (name, choice, batchNorm) in kernels {
            let kernel = DoubleConv.ConvolutionKernel(choice)
            let workers = 3, plane = height * width
            var scratch = [Float](repeating: 0, count: workers * kernel.scratchCount(height: height, width: width, workers: workers))
            var output = [Float](repeating: .nan, count: outputs * plane)
            let reports = Mutex<[(rows: Range<Int>, values: [Float])]>([])
            input.withUnsafeBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { s in
                    output.withUnsafeMutableBufferPointer { y in
                        let written = y.baseAddress!
                        kernel.forward(input: x.baseAddress!, height: height, width: width, output: written, relu: true,
                                       bf16BatchNorm: batchNorm, scratch: s.baseAddress!,
                                       scratchPerWorker: kernel.scratchCount(height: height, width: width, workers: workers),
                                       parallel: ParallelBands(workers: workers), finishedRows: { rows in
                            let values = (0..<outputs).flatMap { o in Array(UnsafeBufferPointer(start: written + o * plane + rows.lowerBound * width, count: rows.count * width)) }
                            reports.withLock { $0.append((rows, values)) }
                        })
                    }
                }
            }
            let all = reports.withLock { $0 }
            let covered = all.flatMap { Array($0.rows) }.sorted()
            #expect(covered == Array(0..<height), "seed \(TestSeed.value), \(name): rows reported \(covered.count) times for \(height) rows")
            for report in all {
                let final = (0..<outputs).flatMap { o in output[(o * plane + report.rows.lowerBound * width)..<(o * plane + report.rows.upperBound * width)] }
                #expect(zip(final, report.values).allSatisfy { $0.bitPattern == $1.bitPattern }, "seed \(TestSeed.value), \(name): rows \(report.rows) changed after they were reported")
            }
        }
    }

    @Test func pointwiseOnRowRangesMatchesTheOneByOnePass() {
        let (inputs, classes, height, width) = (16, 2, 7, 19)
        var generator = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        let conv = Conv2D(weight: Tensor(shape: [classes, inputs, 1, 1], scalars: (0..<(classes * inputs)).map { _ in Float.random(in: -1...1, using: &generator) }),
                          bias: Tensor(shape: [classes], scalars: (0..<classes).map { _ in Float.random(in: -1...1, using: &generator) }))
        let input = (0..<(inputs * height * width)).map { _ in Float.random(in: -1...1, using: &generator) }
        var expected = [Float](repeating: 0, count: classes * height * width), actual = expected
        var scratch = [Float](repeating: 0, count: 1)
        input.withUnsafeBufferPointer { x in
            expected.withUnsafeMutableBufferPointer { y in
                scratch.withUnsafeMutableBufferPointer { s in
                    conv.forward(input: x.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: false,
                                 scratch: s.baseAddress!, columnsPerWorker: 0, parallel: ParallelBands(workers: 2))
                }
            }
            actual.withUnsafeMutableBufferPointer { y in
                for rows in [0..<3, 3..<4, 4..<7] {
                    conv.pointwise(input: x.baseAddress!, height: height, width: width, rows: rows, output: y.baseAddress!, roundedToBF16: false)
                }
            }
        }
        let worst = zip(expected, actual).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "seed \(TestSeed.value), largest difference \(worst)")
    }
}
