import UNetCore

/// milesial's DoubleConv for inference: (Conv3×3 → BatchNorm → ReLU) twice, with each BatchNorm folded
/// into its convolution and the ReLU fused into the bias pass.
struct DoubleConv: Sendable {
    let first: Conv2D
    let second: Conv2D
    /// Winograd versions of the two convolutions where they pay (enough channels).
    let fastFirst: WinogradConv3x3?
    let fastSecond: WinogradConv3x3?

    /// Builds the block from `PREFIX.{0,1,3,4}.*` of a validated state dict.
    init(_ tensors: [String: Tensor], prefix: String) {
        func conv(_ index: Int) -> Conv2D {
            Conv2D(weight: tensors["\(prefix).\(index).weight"]!, bias: tensors["\(prefix).\(index).bias"])
                .folding(BatchNorm2D(tensors, prefix: "\(prefix).\(index + 1)"))
        }
        first = conv(0)
        second = conv(3)
        fastFirst = WinogradConv3x3.isWorthwhile(for: first) ? WinogradConv3x3(first) : nil
        fastSecond = WinogradConv3x3.isWorthwhile(for: second) ? WinogradConv3x3(second) : nil
    }

    /// Scratch per worker the Winograd convolutions need at this width.
    func winogradScratch(width: Int) -> Int {
        max(fastFirst?.scratchCount(width: width) ?? 0, fastSecond?.scratchCount(width: width) ?? 0)
    }

    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
                 middle: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, columnsPerWorker: Int,
                 parallel: ParallelBands) {
        for (conv, fast, source, destination) in [(first, fastFirst, input, UnsafeMutablePointer(middle)),
                                                  (second, fastSecond, UnsafePointer(middle), output)] {
            if let fast {
                fast.forward(input: source, height: height, width: width, output: destination, relu: true,
                             scratch: scratch, scratchPerWorker: columnsPerWorker, parallel: parallel)
            } else {
                conv.forward(input: source, height: height, width: width, output: destination, relu: true,
                             scratch: scratch, columnsPerWorker: columnsPerWorker, parallel: parallel)
            }
        }
    }
}
