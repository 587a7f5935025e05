import CKernels

/// A 3×3, stride-1, pad-1 convolution by the engine's own register-blocked kernels (`CKernels`):
/// the input is copied once into a zero-bordered buffer, then each worker computes whole output rows
/// for blocks of output channels, with bias and ReLU applied before the values leave registers.
/// No im2col buffer, no GEMM packing. Built from the folded `Conv2D` (fp32), or from the unfolded,
/// bf16-rounded one (the bf16-pair kernels, which round input and weights themselves).
struct DirectConv3x3: Sendable {
    /// An instantiation of the kernel, as `CKernels` numbers them.
    enum Kernel: Int32, Sendable, CustomStringConvertible {
        case avx2 = 1, avx512 = 2
        /// The AVX-512 block logic in portable vector code: lets tests check it on any CPU.
        case portable16 = 3
        /// bf16 pairs through AVX-512 BF16's `vdpbf16ps`, fp32 sums.
        case avx512bf16 = 4
        /// The same bf16-pair block logic with the pair dot product emulated: tests run it on any CPU.
        case portableBF16 = 5

        var description: String {
            switch self {
            case .avx2: "avx2"
            case .avx512: "avx512"
            case .portable16: "portable16"
            case .avx512bf16: "avx512bf16"
            case .portableBF16: "portable-bf16"
            }
        }

        /// Whether the kernel takes input channels and weights as bf16 pairs.
        var takesBF16Pairs: Bool { self == .avx512bf16 || self == .portableBF16 }

        /// Whether it runs x86 vector instructions (AVX2 + FMA at least), so the CPU has them.
        var isNative: Bool { self == .avx2 || self == .avx512 || self == .avx512bf16 }

        /// Whether it runs AVX-512, so the CPU has AVX-512F.
        var isAVX512: Bool { self == .avx512 || self == .avx512bf16 }
    }


    /// Where the direct kernel beats OpenBLAS's shifted rows. The native bf16 kernel (twice the fp32
    /// rate) does everywhere. The fp32 kernels, measured per layer on AVX2 at tiles 256 and 512
    /// (BENCHMARKS.md): always with fewer than 8 input channels (the first layer), on layers up to 128 px
    /// wide, and up to 256 px with at most 16 input channels. Wider rows lose their reuse from cache
    /// (32 → 16 channels at 512 px: 47.6 ms against 33.6).
    func isFaster(width: Int) -> Bool {
        kernel == .avx512bf16 || inputChannels < ShiftedRowsConv3x3.minimumInputChannels || width <= 128
            || (width <= 256 && inputChannels <= 16)
    }

    let kernel: Kernel
    let inputChannels: Int
    let outputChannels: Int
    /// Weights packed for the kernel: fp32, or (`kernel.takesBF16Pairs`) bf16 pairs in 32-bit words, the
    /// other left empty. Two fields, not an enum with two payloads: see `DoubleConv.ConvolutionKernel`.
    private let floatWeights: [Float]
    private let pairWeights: [UInt32]
    private let paddedBias: [Float]

    init(_ conv: Conv2D, kernel: Kernel) {
        precondition(conv.kernelSize == 3)
        self.kernel = kernel
        let inputChannels = conv.inputChannels, outputChannels = conv.outputChannels
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        let block = Int(unet_conv3x3_block_channels(kernel.rawValue))
        let blocks = (outputChannels + block - 1) / block
        if kernel.takesBF16Pairs {
            var packed = [UInt32](repeating: 0, count: blocks * block * (inputChannels + 1) / 2 * 9)
            conv.weight.withUnsafeBufferPointer { weights in
                packed.withUnsafeMutableBufferPointer { packed in
                    unet_conv3x3_pack_weights_bf16_pairs(weights.baseAddress!, Int64(outputChannels), Int64(inputChannels), packed.baseAddress!)
                }
            }
            (floatWeights, pairWeights) = ([], packed)
        } else {
            var packed = [Float](repeating: 0, count: blocks * block * inputChannels * 9)
            conv.weight.withUnsafeBufferPointer { weights in
                packed.withUnsafeMutableBufferPointer { packed in
                    unet_conv3x3_pack_weights(kernel.rawValue, weights.baseAddress!, Int64(outputChannels), Int64(inputChannels), packed.baseAddress!)
                }
            }
            (floatWeights, pairWeights) = (packed, [])
        }
        paddedBias = conv.bias + [Float](repeating: 0, count: blocks * block - outputChannels)
    }

    /// Elements per padded row and per padded plane at this size (floats, or 32-bit bf16 pairs).
    static func paddedLayout(height: Int, width: Int) -> (stride: Int, plane: Int) {
        let stride = Int(unet_conv3x3_padded_stride(Int64(width)))
        return (stride, stride * (height + 2))
    }

    /// Planes of the padded input: one per channel, or one per pair of channels.
    private var paddedPlanes: Int { kernel.takesBF16Pairs ? (inputChannels + 1) / 2 : inputChannels }

    /// Scratch per worker: the workers share one padded copy of the input, spread over their slices.
    func scratchCount(height: Int, width: Int, workers: Int) -> Int {
        (paddedCount(height: height, width: width) + workers - 1) / workers
    }

    /// Elements (floats or pairs) of the padded copy of the input at this size.
    func paddedCount(height: Int, width: Int) -> Int {
        paddedPlanes * Self.paddedLayout(height: height, width: width).plane
    }

    /// With `bf16BatchNorm` (bf16 kernels only) each output is rounded, normalised and rounded again in
    /// the kernel's store, as `BFloat16.roundThroughBatchNorm` would do in a pass of its own. A bf16
    /// kernel can also take its input already padded into pairs (`paddedInput`, by the previous
    /// convolution, with no pass of its own) and write its output that way for the next one
    /// (`pairedOutput`, of `paddedCount` pairs of the next convolution, needs `bf16BatchNorm`). With
    /// `pooled`, each chunk of rows is also max-pooled 2×2 there (`MaxPool2x2`) as soon as it is written,
    /// and then handed to `finishedRows` (on the worker that wrote it). `pairsPaddedFrom`: the padded
    /// pairs from that index on are already in `scratch` (written by the upsampling), the rest still to pad.
    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                 scratch: UnsafeMutablePointer<Float>, parallel: ParallelBands,
                 bf16BatchNorm: (scale: [Float], shift: [Float])? = nil, paddedInput: UnsafeMutablePointer<UInt32>? = nil,
                 pairedOutput: UnsafeMutablePointer<UInt32>? = nil, pooled: UnsafeMutablePointer<Float>? = nil,
                 finishedRows: ((Range<Int>) -> Void)? = nil, pairsPaddedFrom: Int? = nil) {
        precondition(pairedOutput == nil || (pooled == nil && finishedRows == nil), "a paired output has no fp32 rows")
        let (stride, paddedPlane) = Self.paddedLayout(height: height, width: width)
        let chunk = max(1, min(8, (height + parallel.workers - 1) / parallel.workers))
        // Even when pooling, so that each pooled row's two input rows lie in one chunk (a row's values never
        // depend on the chunking).
        let rowsPerChunk = pooled == nil ? chunk : (chunk + 1) / 2 * 2
        let outputChannels = outputChannels
        func rowsWritten(_ rows: Range<Int>) {
            if let pooled {
                MaxPool2x2.forward(input: output, channels: outputChannels, height: height, width: width, output: pooled,
                                   rows: rows.lowerBound / 2..<min(rows.upperBound / 2, height / 2))
            }
            finishedRows?(rows)
        }
        if !kernel.takesBF16Pairs {
            let packed = floatWeights
            precondition(bf16BatchNorm == nil && paddedInput == nil && pairedOutput == nil, "only the bf16 kernels take pairs")
            let padded = scratch  // all workers' slices together, contiguous
            parallel.split(count: inputChannels) { _, channels in
                for channel in channels {
                    let source = input + channel * height * width, target = padded + channel * paddedPlane
                    target.update(repeating: 0, count: stride)  // row 0
                    for y in 0..<height {
                        let row = target + (y + 1) * stride
                        row[0] = 0
                        (row + 1).update(from: source + y * width, count: width)
                        (row + 1 + width).update(repeating: 0, count: stride - width - 1)
                    }
                    (target + (height + 1) * stride).update(repeating: 0, count: stride)  // row height + 1
                }
            }
            packed.withUnsafeBufferPointer { weights in
                paddedBias.withUnsafeBufferPointer { bias in
                    parallel.forEach(count: height, chunk: rowsPerChunk) { _, rows in
                        let status = unet_conv3x3(kernel.rawValue, padded, Int64(stride), Int64(paddedPlane), Int64(inputChannels),
                                                  Int64(height), Int64(width), weights.baseAddress!, bias.baseAddress!,
                                                  Int64(outputChannels), output, Int64(height * width),
                                                  Int64(rows.lowerBound), Int64(rows.upperBound), relu ? 1 : 0)
                        precondition(status == 0, "convolution kernel \(kernel) is not compiled into this binary")
                        rowsWritten(rows)
                    }
                }
            }
        } else {
            let packed = pairWeights
            precondition(pairedOutput == nil || bf16BatchNorm != nil, "paired outputs are the BatchNorm's")
            // 32-bit pairs in the same scratch memory, as many elements as it holds floats.
            let padded = paddedInput ?? UnsafeMutablePointer<UInt32>(OpaquePointer(scratch))
            if paddedInput == nil {
                // Pairs from `pairsPaddedFrom` on are in place already (`BilinearUpsample2x.forwardPairs`).
                parallel.split(count: min(pairsPaddedFrom ?? paddedPlanes, paddedPlanes)) { _, pairs in
                    unet_conv3x3_pad_bf16_pairs(kernel.rawValue, input, Int64(inputChannels), Int64(height), Int64(width), padded, Int64(stride),
                                                Int64(pairs.lowerBound), Int64(pairs.upperBound))
                }
            }
            if let pairedOutput {
                parallel.split(count: (outputChannels + 1) / 2) { _, pairs in
                    unet_conv3x3_zero_pair_borders(pairedOutput, Int64(stride), Int64(height), Int64(width), Int64(pairs.lowerBound),
                                                   Int64(pairs.upperBound))
                }
            }
            let normScale = bf16BatchNorm?.scale ?? [], normShift = bf16BatchNorm?.shift ?? []
            packed.withUnsafeBufferPointer { weights in
                paddedBias.withUnsafeBufferPointer { bias in
                    normScale.withUnsafeBufferPointer { scale in
                        normShift.withUnsafeBufferPointer { shift in
                            parallel.forEach(count: height, chunk: rowsPerChunk) { _, rows in
                                let status = unet_conv3x3_bf16_pairs(kernel.rawValue, padded, Int64(stride), Int64(paddedPlane),
                                                                     Int64(inputChannels), Int64(width), weights.baseAddress!,
                                                                     bias.baseAddress!, Int64(outputChannels), output,
                                                                     Int64(height * width), Int64(rows.lowerBound),
                                                                     Int64(rows.upperBound), relu ? 1 : 0,
                                                                     bf16BatchNorm == nil ? nil : scale.baseAddress,
                                                                     bf16BatchNorm == nil ? nil : shift.baseAddress, pairedOutput)
                                precondition(status == 0, "convolution kernel \(kernel) is not compiled into this binary")
                                rowsWritten(rows)
                            }
                        }
                    }
                }
            }
        }
    }
}
