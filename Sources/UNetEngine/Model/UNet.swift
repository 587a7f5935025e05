import UNetCore

/// A milesial-style U-Net ready for inference: BatchNorm folded into the convolutions, ReLU fused,
/// weights laid out for GEMM. Immutable and `Sendable`; run it through a `UNetRunner`, which owns the
/// reusable activation buffers.
public struct UNet: Sendable {
    public let architecture: UNetArchitecture
    /// The instruction-set path its convolutions run on.
    public let cpuPath: CPUPath
    /// The arithmetic it runs in (`fp32` or `bf16`, never `auto`).
    public let precision: Precision
    let encoder: [DoubleConv]
    let decoder: [(upsampler: Upsampler, conv: DoubleConv)]
    let outputConv: Conv2D

    enum Upsampler: Sendable {
        case bilinear
        case transposed(TransposedConv2x2)
    }

    /// Builds the network from a state dict; validates it against the inferred architecture first.
    /// `cpuPath` must be supported by this CPU (`CPUPath.isSupported`).
    /// `precision` `.auto` means bf16 where the path has native bf16 dot products.
    public init(stateDict tensors: [String: Tensor], cpuPath: CPUPath = .selected, precision: Precision = .fp32) throws(CheckpointProblem) {
        try self.init(stateDict: tensors, cpuPath: cpuPath, directKernel: cpuPath.directConvolution(for: precision), precision: precision)
    }

    /// As above, with the direct-convolution kernel chosen separately (tests run the portable copies
    /// of the AVX-512 kernels this way on any CPU).
    init(stateDict tensors: [String: Tensor], cpuPath: CPUPath, directKernel: DirectConv3x3.Kernel?, precision: Precision = .fp32) throws(CheckpointProblem) {
        precondition(cpuPath.isSupported, "CPU path \(cpuPath) is not supported here")
        let precision = precision.resolved(for: cpuPath)
        self.precision = precision
        let architecture = try UNetArchitecture.inferred(from: tensors)
        self.architecture = architecture
        self.cpuPath = cpuPath
        encoder = architecture.encoderBlocks.map { DoubleConv(tensors, prefix: $0.prefix, directKernel: directKernel, precision: precision) }
        decoder = architecture.decoderBlocks.map { stage in
            let upsampler: Upsampler = architecture.upsampling == .bilinear
                ? .bilinear
                : .transposed(TransposedConv2x2(weight: tensors["\(stage.name).up.weight"]!, bias: tensors["\(stage.name).up.bias"]!,
                                                roundedToBF16: precision == .bf16))
            return (upsampler, DoubleConv(tensors, prefix: stage.conv.prefix, directKernel: directKernel, precision: precision))
        }
        let output = Conv2D(weight: tensors["outc.conv.weight"]!, bias: tensors["outc.conv.bias"]!)
        outputConv = precision == .bf16 ? output.roundedToBF16() : output
    }

    /// Smallest input side: four 2× poolings must leave at least one pixel.
    public static let minimumInputSide = 1 << UNetArchitecture.depth
}
