import UNetCore

/// A milesial-style U-Net ready for inference: BatchNorm folded into the convolutions, ReLU fused,
/// weights laid out for GEMM. Immutable and `Sendable`; run it through a `UNetRunner`, which owns the
/// reusable activation buffers.
public struct UNet: Sendable {
    public let architecture: UNetArchitecture
    let encoder: [DoubleConv]
    let decoder: [(upsampler: Upsampler, conv: DoubleConv)]
    let outputConv: Conv2D

    enum Upsampler: Sendable {
        case bilinear
        case transposed(TransposedConv2x2)
    }

    /// Builds the network from a state dict; validates it against the inferred architecture first.
    public init(stateDict tensors: [String: Tensor]) throws(CheckpointProblem) {
        let architecture = try UNetArchitecture.inferred(from: tensors)
        self.architecture = architecture
        encoder = architecture.encoderBlocks.map { DoubleConv(tensors, prefix: $0.prefix) }
        decoder = architecture.decoderBlocks.map { stage in
            let upsampler: Upsampler = architecture.upsampling == .bilinear
                ? .bilinear
                : .transposed(TransposedConv2x2(weight: tensors["\(stage.name).up.weight"]!, bias: tensors["\(stage.name).up.bias"]!))
            return (upsampler, DoubleConv(tensors, prefix: stage.conv.prefix))
        }
        outputConv = Conv2D(weight: tensors["outc.conv.weight"]!, bias: tensors["outc.conv.bias"]!)
    }

    /// Smallest input side: four 2× poolings must leave at least one pixel.
    public static let minimumInputSide = 1 << UNetArchitecture.depth
}
