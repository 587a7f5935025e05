import Foundation
import TestSupport
import Testing
import UNetCore
@testable import UNetEngine

/// The portable bf16 path: rounding exactly as PyTorch's `tensor.to(torch.bfloat16)`, and bf16
/// inference close to fp32 on real H&E crops. Runs on every CPU.
@Suite struct BFloat16Tests {
    /// (fp32 bits, bits after PyTorch 2.15's `.to(torch.bfloat16).float()`): ties to even, a denormal,
    /// overflow to infinity.
    static let pytorchRounding: [(UInt32, UInt32)] = [
        (0x3F80_0000, 0x3F80_0000), (0x3F80_8000, 0x3F80_0000), (0x3F81_8000, 0x3F82_0000), (0xBB23_D70A, 0xBB24_0000),
        (0x4049_0FDB, 0x4049_0000), (0x0001_16C2, 0x0001_0000), (0x7F7F_FFFF, 0x7F80_0000), (0x477F_E000, 0x4780_0000),
        (0x3DCC_CCCD, 0x3DCD_0000), (0xBE99_999A, 0xBE9A_0000), (0x3F80_0001, 0x3F80_0000),
    ]

    @Test func roundsAsPyTorchDoes() {
        for (input, expected) in Self.pytorchRounding {
            let rounded = BFloat16.rounded(Float(bitPattern: input)).bitPattern
            #expect(rounded == expected, "0x\(String(input, radix: 16)) → 0x\(String(rounded, radix: 16)), PyTorch 0x\(String(expected, radix: 16))")
        }
        #expect(BFloat16.rounded(.nan).isNaN)
        #expect(BFloat16.rounded(-.infinity) == -.infinity)
    }

    @Test func autoMeansBF16OnlyWithNativeDotProducts() {
        #expect(Precision.auto.resolved(for: .avx512bf16) == .bf16)
        for path in [CPUPath.generic, .avx2, .avx512] { #expect(Precision.auto.resolved(for: path) == .fp32) }
        #expect(Precision.bf16.resolved(for: .generic) == .bf16)
    }

    /// The bf16-pair kernel (the native AVX-512 BF16 layout, here through its portable emulation) gives
    /// the portable bf16 path's result up to the order of fp32 sums, on the golden crops. A sum that
    /// differs in its last fp32 bit can round to the neighbouring bf16 value, and that step carries
    /// through the layers: 0.0024 at most measured, bounded at 0.005 (a quarter of the fp32 bound).
    @Test(arguments: GoldenOutputTests.variants) func bf16PairKernelMatchesThePortablePath(variant: String) throws {
        try expectPairKernelMatchesPortablePath(variant: variant, cpuPath: .generic, kernel: .portableBF16)
    }

    @Test(.enabled(if: CPUPath.avx512bf16.isSupported, "this CPU has no AVX-512 BF16"), arguments: GoldenOutputTests.variants)
    func nativeBF16KernelMatchesThePortablePath(variant: String) throws {
        try expectPairKernelMatchesPortablePath(variant: variant, cpuPath: .avx512bf16, kernel: .avx512bf16)
    }

    private func expectPairKernelMatchesPortablePath(variant: String, cpuPath: CPUPath, kernel: DirectConv3x3.Kernel) throws {
        let model = try ModelFile.load(path: Fixtures.engine("\(variant).pth"))
        let golden = try SafeTensors.read(url: URL(fileURLWithPath: Fixtures.engine("\(variant).golden.safetensors")))
        let input = try #require(golden.tensors["input"])
        let portable = try UNet(stateDict: model.tensors, cpuPath: .generic, directKernel: nil, precision: .bf16)
        let paired = try UNet(stateDict: model.tensors, cpuPath: cpuPath, directKernel: kernel, precision: .bf16)
        let expected = try UNetRunner(network: portable).probability(input).scalars
        let actual = try UNetRunner(network: paired).probability(input).scalars
        let worst = zip(expected, actual).map { abs($0 - $1) }.max()!
        #expect(worst <= 5e-3, "max |Δprob| \(worst)")
    }

    /// bf16 gives the same output bit for bit at any thread count, on every path this CPU has, through
    /// the trained default model: its 64-channel layers run Winograd with bf16 products where the CPU has
    /// AVX-512 BF16, in bands at 32×32 and as one band below, and its narrow ones the paired direct kernels.
    @Test func threadCountDoesNotChangeTheBF16Output() throws {
        let defaultModel = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/DefaultModel/Resources/default-model.safetensors").path
        let model = try ModelFile.load(path: defaultModel)
        var state: UInt32 = 1
        let input = Tensor(shape: [1, 3, 128, 128], scalars: (0..<(3 * 128 * 128)).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24)
        })
        for path in CPUPath.allCases where path.isSupported {
            let network = try UNet(stateDict: model.tensors, cpuPath: path, precision: .bf16)
            let reference = try UNetRunner(network: network, threads: 1).logits(input)
            for threads in [2, 3, 4, 8, 16] {
                #expect(try UNetRunner(network: network, threads: threads).logits(input) == reference, "\(path.rawValue), \(threads) threads")
            }
        }
    }

    /// bf16 stays within 0.02 of fp32 on the golden crops of real H&E through every golden model. These
    /// small untrained networks put many pixels within a hair of the threshold, so a mask may flip
    /// there; every flip must lie within that 0.02 of the threshold. (Mask agreement and Dice are
    /// checked with the trained default model on whole slides: BFloat16SegmentationTests.)
    @Test(arguments: GoldenOutputTests.variants) func staysCloseToFP32OnRealCrops(variant: String) throws {
        let model = try ModelFile.load(path: Fixtures.engine("\(variant).pth"))
        let golden = try SafeTensors.read(url: URL(fileURLWithPath: Fixtures.engine("\(variant).golden.safetensors")))
        let input = try #require(golden.tensors["input"])
        let network = try model.network(precision: .bf16)
        #expect(network.precision == .bf16)
        let single = try UNetRunner(network: try model.network(precision: .fp32)).probability(input).scalars
        let half = try UNetRunner(network: network).probability(input).scalars
        #expect(single != half, "bf16 should not be fp32 under another name")
        let worst = zip(single, half).map { abs($0 - $1) }.max()!
        #expect(worst <= 0.02, "max |Δprob| \(worst)")
        let threshold = model.metadata.threshold
        for (a, b) in zip(single, half) where (a >= threshold) != (b >= threshold) {
            #expect(abs(a - threshold) <= 0.02, "a pixel at \(a) flipped")
        }
    }
}
