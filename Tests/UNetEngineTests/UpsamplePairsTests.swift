import CKernels
import TestSupport
import Testing
import UNetCore
@testable import UNetEngine

/// `BilinearUpsample2x.forwardPairs`, which writes a bf16 decoder stage's upsampled channels straight
/// into its first convolution's padded pairs, against what that convolution's own padding pass makes of
/// `forward`'s bf16-rounded output: the same padded planes bit for bit, borders included (both buffers
/// start as garbage), at odd sizes.
@Suite struct UpsamplePairsTests {
    @Test(arguments: [(2, 3, 5), (4, 8, 7), (6, 1, 1), (2, 16, 9)])
    func pairsMatchThePaddingPassOverTheRoundedUpsampling(shape: (channels: Int, height: Int, width: Int)) {
        let (channels, height, width) = shape
        var generator = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        let input = (0..<(channels * height * width)).map { _ in Float.random(in: -2...2, using: &generator) }
        let (outHeight, outWidth) = (2 * height, 2 * width)
        let (stride, plane) = DirectConv3x3.paddedLayout(height: outHeight, width: outWidth)
        var upsampled = [Float](repeating: .nan, count: channels * outHeight * outWidth)
        var expected = [UInt32](repeating: 0xDEAD_BEEF, count: channels / 2 * plane), actual = expected
        input.withUnsafeBufferPointer { x in
            upsampled.withUnsafeMutableBufferPointer { y in
                BilinearUpsample2x.forward(input: x.baseAddress!, channels: channels, height: height, width: width, output: y.baseAddress!,
                                           placement: PaddedPlacement(source: outHeight, outWidth, into: outHeight, outWidth), roundedToBF16: true)
                expected.withUnsafeMutableBufferPointer { e in
                    unet_conv3x3_pad_bf16_pairs(Int32(DirectConv3x3.Kernel.portableBF16.rawValue), y.baseAddress!, Int64(channels), Int64(outHeight),
                                                Int64(outWidth), e.baseAddress!, Int64(stride), 0, Int64(channels / 2))
                }
            }
            actual.withUnsafeMutableBufferPointer { a in
                BilinearUpsample2x.forwardPairs(input: x.baseAddress!, channels: channels, height: height, width: width,
                                                pairs: a.baseAddress!, stride: stride, plane: plane)
            }
        }
        let differing = zip(expected, actual).filter { $0 != $1 }.count
        #expect(differing == 0, "seed \(TestSeed.value), \(differing) of \(actual.count) padded pair elements differ")
    }
}
