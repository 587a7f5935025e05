import UNetCore

/// milesial's DoubleConv for inference: (Conv3×3 → BatchNorm → ReLU) twice, with each BatchNorm folded
/// into its convolution and the ReLU fused into the bias pass.
struct DoubleConv: Sendable {
    let first: Conv2D
    let second: Conv2D

    /// Builds the block from `PREFIX.{0,1,3,4}.*` of a validated state dict.
    init(_ tensors: [String: Tensor], prefix: String) {
        func conv(_ index: Int) -> Conv2D {
            Conv2D(weight: tensors["\(prefix).\(index).weight"]!, bias: tensors["\(prefix).\(index).bias"])
                .folding(BatchNorm2D(tensors, prefix: "\(prefix).\(index + 1)"))
        }
        first = conv(0)
        second = conv(3)
    }

    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
                 middle: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, columnsPerWorker: Int,
                 parallel: ParallelBands) {
        first.forward(input: input, height: height, width: width, output: middle, relu: true,
                      scratch: scratch, columnsPerWorker: columnsPerWorker, parallel: parallel)
        second.forward(input: middle, height: height, width: width, output: output, relu: true,
                       scratch: scratch, columnsPerWorker: columnsPerWorker, parallel: parallel)
    }
}
