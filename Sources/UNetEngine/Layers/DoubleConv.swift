import UNetCore

/// milesial's DoubleConv for inference: (Conv3×3 → BatchNorm → ReLU) twice. In fp32 each BatchNorm is
/// folded into its convolution and the ReLU fused into the bias pass; in bf16 they stay apart, as in
/// PyTorch's autocast (see `init`).
struct DoubleConv: Sendable {
    /// The two convolutions' shapes (their weights live in `kernels`).
    let first: Conv2D
    let second: Conv2D
    /// The kernels that run the two convolutions at inference: Winograd where there are enough
    /// channels, else the CPU path's direct kernel where it is faster for the layer's width, else
    /// shifted rows (3 copies of the input instead of im2col's 9).
    let kernels: [ConvolutionKernel]
    /// With `Precision.bf16`, each convolution's BatchNorm, applied after it (nil: folded into the weights).
    let batchNormsAfterBF16: [(scale: [Float], shift: [Float])]?

    /// One convolution's kernel, held as a struct of optionals (exactly one set, or `direct` with its
    /// `shifted` fallback) and seen through `choice`. Not stored as an enum with payloads: a multi-payload
    /// enum keeps its case in the spare high bits of a payload's pointer, and LeakSanitizer, which finds
    /// memory by plain pointers, then took the weights a live model holds for leaked (issue 32). The same
    /// holds for the weight buffers inside the kernels (`DirectConv3x3`, `WinogradConv3x3`).
    struct ConvolutionKernel: Sendable {
        enum Choice {
            case winograd(WinogradConv3x3)
            /// The own kernel where it is faster (`DirectConv3x3.isFaster(width:)`), else `wide` (shifted rows).
            case direct(DirectConv3x3, wide: ShiftedRowsConv3x3?)
            case shiftedRows(ShiftedRowsConv3x3)
            /// Plain im2col for the first layer: with 3 input channels one GEMM of depth 27 beats three of depth 9.
            case im2col(Conv2D)
        }

        private let winograd: WinogradConv3x3?
        private let direct: DirectConv3x3?
        private let shifted: ShiftedRowsConv3x3?
        private let im2col: Conv2D?

        init(_ choice: Choice) {
            switch choice {
            case .winograd(let fast): (winograd, direct, shifted, im2col) = (fast, nil, nil, nil)
            case .direct(let own, let wide): (winograd, direct, shifted, im2col) = (nil, own, wide, nil)
            case .shiftedRows(let rows): (winograd, direct, shifted, im2col) = (nil, nil, rows, nil)
            case .im2col(let conv): (winograd, direct, shifted, im2col) = (nil, nil, nil, conv)
            }
        }

        var choice: Choice {
            if let winograd { return .winograd(winograd) }
            if let direct { return .direct(direct, wide: shifted) }
            if let shifted { return .shiftedRows(shifted) }
            return .im2col(im2col!)
        }

        init(_ conv: Conv2D, directKernel: DirectConv3x3.Kernel?) {
            if WinogradConv3x3.isWorthwhile(for: conv, directKernel: directKernel) {
                self.init(.winograd(WinogradConv3x3(conv, vectorised: directKernel?.isNative == true, avx512: directKernel?.isAVX512 == true,
                                                    bf16Products: directKernel?.takesBF16Pairs == true)))
            } else if let kernel = directKernel {
                let wide = conv.inputChannels >= ShiftedRowsConv3x3.minimumInputChannels ? ShiftedRowsConv3x3(conv) : nil
                self.init(.direct(DirectConv3x3(conv, kernel: kernel), wide: wide))
            } else if conv.inputChannels >= ShiftedRowsConv3x3.minimumInputChannels {
                self.init(.shiftedRows(ShiftedRowsConv3x3(conv)))
            } else {
                self.init(.im2col(conv))
            }
        }

        /// The bf16-pair direct kernel, where that is what runs at this width.
        func bf16Direct(width: Int) -> DirectConv3x3? {
            guard case .direct(let direct, let wide) = choice, direct.kernel.takesBF16Pairs, wide == nil || direct.isFaster(width: width) else {
                return nil
            }
            return direct
        }

        /// What `unet bench --layers` calls it at this width.
        func name(width: Int) -> String {
            switch choice {
            case .winograd: "winograd"
            case .direct(let direct, let wide):
                wide != nil && !direct.isFaster(width: width) ? "shifted-rows" : "direct-\(direct.kernel)"
            case .shiftedRows: "shifted-rows"
            case .im2col: "im2col"
            }
        }

        func scratchCount(height: Int, width: Int, workers: Int) -> Int {
            switch choice {
            case .winograd(let fast): fast.scratchCount(height: height, width: width)
            case .direct(let direct, let wide):
                max(direct.scratchCount(height: height, width: width, workers: workers), wide?.scratchCount(height: height, width: width) ?? 0)
            case .shiftedRows(let shifted): shifted.scratchCount(height: height, width: width)
            case .im2col(let conv): conv.columnRows * width * conv.bandRows(height: height, width: width)
            }
        }

        var outputChannels: Int {
            switch choice {
            case .winograd(let fast): fast.outputChannels
            case .direct(let direct, _): direct.outputChannels
            case .shiftedRows(let shifted): shifted.outputChannels
            case .im2col(let conv): conv.outputChannels
            }
        }

        /// Runs the convolution. With `bf16BatchNorm` its output is rounded through that BatchNorm and a
        /// ReLU (`relu` is then ignored): in the bf16 direct kernel's store or Winograd's output transform,
        /// else in a pass of its own. With `pooled`, the final output's 2×2 max pooling is written there too,
        /// and `finishedRows` gets every output row once, in ranges whose every channel is final: both as
        /// the kernel writes the rows where it can (Winograd, the direct kernels), else after the layer,
        /// split among the workers.
        func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                     bf16BatchNorm: (scale: [Float], shift: [Float])?, scratch: UnsafeMutablePointer<Float>,
                     scratchPerWorker: Int, parallel: ParallelBands, pooled: UnsafeMutablePointer<Float>? = nil,
                     finishedRows: ((Range<Int>) -> Void)? = nil) {
            let relu = relu && bf16BatchNorm == nil
            switch choice {
            case .winograd(let fast):
                fast.forward(input: input, height: height, width: width, output: output, relu: relu,
                             scratch: scratch, scratchPerWorker: scratchPerWorker, parallel: parallel, bf16BatchNorm: bf16BatchNorm,
                             pooled: pooled, finishedRows: finishedRows)
                return
            case .direct(let direct, let wide):
                if let wide, !direct.isFaster(width: width) {
                    wide.forward(input: input, height: height, width: width, output: output, relu: relu,
                                 scratch: scratch, scratchPerWorker: scratchPerWorker, parallel: parallel)
                } else if direct.kernel.takesBF16Pairs {
                    direct.forward(input: input, height: height, width: width, output: output, relu: relu, scratch: scratch,
                                   parallel: parallel, bf16BatchNorm: bf16BatchNorm, pooled: pooled, finishedRows: finishedRows)
                    return
                } else if bf16BatchNorm == nil {
                    direct.forward(input: input, height: height, width: width, output: output, relu: relu, scratch: scratch, parallel: parallel,
                                   pooled: pooled, finishedRows: finishedRows)
                    return
                } else {  // a BatchNorm pass still follows: pool and hand the rows on after it
                    direct.forward(input: input, height: height, width: width, output: output, relu: relu, scratch: scratch, parallel: parallel)
                }
            case .shiftedRows(let shifted):
                shifted.forward(input: input, height: height, width: width, output: output, relu: relu,
                                scratch: scratch, scratchPerWorker: scratchPerWorker, parallel: parallel)
            case .im2col(let conv):
                conv.forward(input: input, height: height, width: width, output: output, relu: relu,
                             scratch: scratch, columnsPerWorker: scratchPerWorker, parallel: parallel)
            }
            if let bf16BatchNorm {
                BFloat16.roundThroughBatchNorm(output, scale: bf16BatchNorm.scale, shift: bf16BatchNorm.shift,
                                               plane: height * width, parallel: parallel)
            }
            if let pooled {
                MaxPool2x2.forward(input: output, channels: outputChannels, height: height, width: width, output: pooled, parallel: parallel)
            }
            if let finishedRows { parallel.split(count: height) { _, rows in finishedRows(rows) } }
        }
    }

    /// Builds the block from `PREFIX.{0,1,3,4}.*` of a validated state dict.
    /// With `Precision.bf16` the block runs as PyTorch's CPU autocast runs it: each convolution on
    /// bf16-rounded weights, bias and input with fp32 sums, its output rounded to bf16, then BatchNorm
    /// and ReLU in fp32, rounded again for the next convolution. (Folding BatchNorm first and rounding
    /// the folded weights measured further from fp32 on the bundled slides: max |Δprob| 0.036 against 0.023.)
    init(_ tensors: [String: Tensor], prefix: String, directKernel: DirectConv3x3.Kernel?, precision: Precision) {
        func conv(_ index: Int) -> Conv2D {
            let plain = Conv2D(weight: tensors["\(prefix).\(index).weight"]!, bias: tensors["\(prefix).\(index).bias"])
            let norm = BatchNorm2D(tensors, prefix: "\(prefix).\(index + 1)")
            return precision == .bf16 ? plain.roundedToBF16() : plain.folding(norm)
        }
        batchNormsAfterBF16 = precision == .bf16 ? [1, 4].map { BatchNorm2D(tensors, prefix: "\(prefix).\($0)").affine } : nil
        let convolutions = [conv(0), conv(3)]
        kernels = convolutions.map { ConvolutionKernel($0, directKernel: directKernel) }
        // The kernels hold the weights in their own layouts; these keep only the shapes.
        (first, second) = (convolutions[0].shapeOnly, convolutions[1].shapeOnly)
    }

    /// Scratch per worker both kernels need at this size: with paired bf16 kernels, the first one's
    /// padded input and the second one's side by side.
    func scratchCount(height: Int, width: Int, workers: Int) -> Int {
        let own = kernels.map { $0.scratchCount(height: height, width: width, workers: workers) }.max()!
        guard let (first, second) = pairedBF16Kernels(width: width) else { return own }
        let both = first.paddedCount(height: height, width: width) + second.paddedCount(height: height, width: width)
        return max(own, (both + workers - 1) / workers)
    }

    /// Both direct bf16 kernels, where both run at this width: the first then stores its output (through
    /// its BatchNorm) straight into the second's padded bf16 pairs, with no fp32 layer between them and
    /// no padding pass (width 16, 512² tile: the padding passes were 7% of the run, memory-bound).
    private func pairedBF16Kernels(width: Int) -> (DirectConv3x3, DirectConv3x3)? {
        guard batchNormsAfterBF16 != nil, let first = kernels[0].bf16Direct(width: width),
              let second = kernels[1].bf16Direct(width: width) else { return nil }
        return (first, second)
    }

    /// Where the first convolution reads its input as padded bf16 pairs from the start of the scratch
    /// (both kernels bf16 direct at this width): their layout, for `BilinearUpsample2x.forwardPairs` to
    /// write the upsampled channels' pairs in place (`forward`'s `pairsPaddedFrom`).
    func pairedInputLayout(height: Int, width: Int) -> (stride: Int, plane: Int)? {
        pairedBF16Kernels(width: width) == nil ? nil : DirectConv3x3.paddedLayout(height: height, width: width)
    }

    /// Runs both convolutions; with a `profile`, times each as `NAME.conv1` and `NAME.conv2`. With
    /// `pooled`, the output's 2×2 max pooling is written there as well, by the second kernel as it writes
    /// where it can (`ConvolutionKernel.forward`), sparing the next level a pass over this one.
    /// `finishedRows` gets the output's rows as the second kernel finishes them (see
    /// `ConvolutionKernel.forward`), for work on them while they are in cache; the profile names it `fusedName`.
    /// `pairsPaddedFrom`: the input's padded pairs from that index on are in the scratch already (see
    /// `pairedInputLayout`); those channels of `input` are not read.
    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>,
                 middle: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, columnsPerWorker: Int,
                 parallel: ParallelBands, pooled: UnsafeMutablePointer<Float>? = nil,
                 finishedRows: ((Range<Int>) -> Void)? = nil, fusedName: String = "", pairsPaddedFrom: Int? = nil,
                 name: @autoclosure () -> String = "", profile: LayerProfile? = nil) {
        precondition(pairsPaddedFrom == nil || pairedInputLayout(height: height, width: width) != nil, "no paired input to write into")
        let paired = pairedBF16Kernels(width: width)
        // The second kernel's padded pairs, after the first one's padded input.
        let pairs = paired.map { UnsafeMutablePointer<UInt32>(OpaquePointer(scratch + $0.0.paddedCount(height: height, width: width))) }
        for (index, conv) in [first, second].enumerated() {
            let source = index == 0 ? input : UnsafePointer(middle), target = index == 0 ? middle : output
            let run = {
                if let (firstKernel, secondKernel) = paired, let pairs, let norms = batchNormsAfterBF16 {
                    (index == 0 ? firstKernel : secondKernel)
                        .forward(input: source, height: height, width: width, output: target, relu: false, scratch: scratch,
                                 parallel: parallel, bf16BatchNorm: norms[index], paddedInput: index == 1 ? pairs : nil,
                                 pairedOutput: index == 0 ? pairs : nil, pooled: index == 1 ? pooled : nil,
                                 finishedRows: index == 1 ? finishedRows : nil, pairsPaddedFrom: index == 0 ? pairsPaddedFrom : nil)
                } else {
                    kernels[index].forward(input: source, height: height, width: width, output: target, relu: true,
                                           bf16BatchNorm: batchNormsAfterBF16?[index], scratch: scratch,
                                           scratchPerWorker: columnsPerWorker, parallel: parallel, pooled: index == 1 ? pooled : nil,
                                           finishedRows: index == 1 ? finishedRows : nil)
                }
            }
            guard let profile else { run(); continue }
            let fused = index == 1 ? (pooled != nil ? "+pool" : "") + (finishedRows != nil ? fusedName : "") : ""
            let kernel = kernels[index].name(width: width) + fused
            profile.measure("\(name()).conv\(index + 1)", kernel: kernel, input: conv.inputChannels,
                            output: conv.outputChannels, height: height, width: width, kernelSize: 3, run)
        }
    }
}
