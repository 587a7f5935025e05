import UNetCore

/// milesial's DoubleConv for inference: (Conv3×3 → BatchNorm → ReLU) twice, with each BatchNorm folded
/// into its convolution and the ReLU fused into the bias pass.
struct DoubleConv: Sendable {
    let first: Conv2D
    let second: Conv2D
    /// The kernels that run the two convolutions at inference: Winograd where there are enough
    /// channels, else shifted rows (3 copies of the input instead of im2col's 9).
    let kernels: [ConvolutionKernel]

    enum ConvolutionKernel: Sendable {
        case winograd(WinogradConv3x3)
        case shiftedRows(ShiftedRowsConv3x3)
        /// Plain im2col for the first layer: with 3 input channels one GEMM of depth 27 beats three of depth 9.
        case im2col(Conv2D)

        init(_ conv: Conv2D) {
            if WinogradConv3x3.isWorthwhile(for: conv) {
                self = .winograd(WinogradConv3x3(conv))
            } else if conv.inputChannels >= ShiftedRowsConv3x3.minimumInputChannels {
                self = .shiftedRows(ShiftedRowsConv3x3(conv))
            } else {
                self = .im2col(conv)
            }
        }

        func scratchCount(height: Int, width: Int, workers: Int) -> Int {
            switch self {
            case .winograd(let fast): fast.scratchCount(width: width)
            case .shiftedRows(let shifted): shifted.scratchCount(height: height, width: width, workers: workers)
            case .im2col(let conv): conv.columnRows * width * conv.bandRows(height: height, width: width, workers: workers)
            }
        }

        func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
                     scratch: UnsafeMutablePointer<Float>, scratchPerWorker: Int, parallel: ParallelBands) {
            switch self {
            case .winograd(let fast):
                fast.forward(input: input, height: height, width: width, output: output, relu: true,
                             scratch: scratch, scratchPerWorker: scratchPerWorker, parallel: parallel)
            case .shiftedRows(let shifted):
                shifted.forward(input: input, height: height, width: width, output: output, relu: true,
                                scratch: scratch, scratchPerWorker: scratchPerWorker, parallel: parallel)
            case .im2col(let conv):
                conv.forward(input: input, height: height, width: width, output: output, relu: true,
                             scratch: scratch, columnsPerWorker: scratchPerWorker, parallel: parallel)
            }
        }
    }

    /// Builds the block from `PREFIX.{0,1,3,4}.*` of a validated state dict.
    init(_ tensors: [String: Tensor], prefix: String) {
        func conv(_ index: Int) -> Conv2D {
            Conv2D(weight: tensors["\(prefix).\(index).weight"]!, bias: tensors["\(prefix).\(index).bias"])
                .folding(BatchNorm2D(tensors, prefix: "\(prefix).\(index + 1)"))
        }
        first = conv(0)
        second = conv(3)
        kernels = [ConvolutionKernel(first), ConvolutionKernel(second)]
    }

    /// Scratch per worker both kernels need at this size.
    func scratchCount(height: Int, width: Int, workers: Int) -> Int {
        kernels.map { $0.scratchCount(height: height, width: width, workers: workers) }.max()!
    }

    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
                 middle: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, columnsPerWorker: Int,
                 parallel: ParallelBands) {
        kernels[0].forward(input: input, height: height, width: width, output: middle,
                           scratch: scratch, scratchPerWorker: columnsPerWorker, parallel: parallel)
        kernels[1].forward(input: middle, height: height, width: width, output: output,
                           scratch: scratch, scratchPerWorker: columnsPerWorker, parallel: parallel)
    }
}
