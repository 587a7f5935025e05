/// Every activation buffer one forward pass at a given input size needs, allocated once.
///
/// The encoder writes each skip connection straight into the first channels of the buffer its decoder
/// stage concatenates into, and the upsampler writes into the remaining channels, so `torch.cat`
/// costs no copy. A decoder stage writes its output back over its own concat buffer, which its first
/// convolution has finished reading by then: no separate output buffers.
final class Workspace {
    let height: Int, width: Int
    /// (height, width) at levels 0...4 (input resolution down to the bottleneck).
    private let sizes: [(height: Int, width: Int)]
    private let concatenated: [UnsafeMutableBufferPointer<Float>]   // levels 0...3
    private let bottleneck: UnsafeMutableBufferPointer<Float>
    private let pooled: UnsafeMutableBufferPointer<Float>
    private let middle: UnsafeMutableBufferPointer<Float>
    private let upsampleScratch: UnsafeMutableBufferPointer<Float>
    private let columns: UnsafeMutableBufferPointer<Float>
    /// The input rounded to bf16, with `Precision.bf16` only (empty otherwise).
    private let roundedInput: UnsafeMutableBufferPointer<Float>
    private let columnsPerWorker: Int
    private let parallel: ParallelBands

    init(network: UNet, height: Int, width: Int, parallel: ParallelBands) {
        self.parallel = parallel
        self.height = height
        self.width = width
        let architecture = network.architecture
        var sizes = [(height, width)]
        for _ in 0..<UNetArchitecture.depth { sizes.append((sizes.last!.0 / 2, sizes.last!.1 / 2)) }
        self.sizes = sizes
        func plane(_ level: Int) -> Int { sizes[level].0 * sizes[level].1 }
        // Zeroed by every worker at once: first touching a 512² tile's 140 MiB is page faults and
        // clearing that one thread would pay alone (bench's first run 80 ms slower than the next).
        func allocate(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            let buffer = UnsafeMutableBufferPointer(start: HugePages.allocateFloats(count), count: max(count, 1))
            let pageFloats = 1024
            parallel.split(count: (buffer.count + pageFloats - 1) / pageFloats) { _, pages in
                let range = (pages.lowerBound * pageFloats)..<min(buffer.count, pages.upperBound * pageFloats)
                UnsafeMutableBufferPointer(rebasing: buffer[range]).initialize(repeating: 0)
            }
            return buffer
        }
        let encoderShapes = architecture.encoderBlocks, decoderShapes = architecture.decoderBlocks
        // Decoder stage i works at level 3 - i.
        concatenated = (0..<4).map { level in
            let conv = decoderShapes[3 - level].conv
            return allocate(max(conv.input, conv.output) * plane(level))
        }
        bottleneck = allocate(encoderShapes[4].output * plane(4))
        pooled = allocate((1...4).map { encoderShapes[$0].input * plane($0) }.max()!)
        let middles = encoderShapes.enumerated().map { $1.middle * plane($0) }
            + decoderShapes.enumerated().map { $1.conv.middle * plane(3 - $0) }
        middle = allocate(middles.max()!)
        let upsampleNeeds = network.decoder.enumerated().map { stage, layer -> Int in
            guard case .transposed(let up) = layer.upsampler else { return 0 }
            return up.scratchCount(height: sizes[4 - stage].0, width: sizes[4 - stage].1)
        }
        upsampleScratch = allocate(upsampleNeeds.max()!)
        // One scratch buffer per worker, as large as the largest any layer's kernel asks for.
        let kernels = network.encoder.enumerated().map { $1.scratchCount(height: sizes[$0].0, width: sizes[$0].1, workers: parallel.workers) }
            + network.decoder.enumerated().map { $1.conv.scratchCount(height: sizes[3 - $0].0, width: sizes[3 - $0].1, workers: parallel.workers) }
        columnsPerWorker = kernels.max()!
        columns = allocate(columnsPerWorker * parallel.workers)
        roundedInput = allocate(network.precision == .bf16 ? architecture.inputChannels * plane(0) : 0)
    }

    deinit {
        for buffer in concatenated + [bottleneck, pooled, middle, upsampleScratch, columns, roundedInput] { buffer.deallocate() }
    }

    /// One forward pass; with a `profile`, every layer is timed into it.
    func run(_ network: UNet, input: UnsafePointer<Float>, logits: UnsafeMutablePointer<Float>, profile: LayerProfile? = nil) {
        profile?.beginPass()
        defer { profile?.endPass() }
        func step(_ name: @autoclosure () -> String, channels: Int, height: Int, width: Int, _ body: () -> Void) {
            guard let profile else { return body() }
            profile.measure(name(), kernel: "", input: channels, output: channels, height: height, width: width, kernelSize: 0, body)
        }
        let middle = self.middle.baseAddress!
        let bf16 = network.precision == .bf16
        var networkInput = input
        if bf16 {
            let rounded = roundedInput.baseAddress!, channels = network.architecture.inputChannels
            rounded.update(from: input, count: channels * height * width)
            BFloat16.round(rounded, channels: channels, plane: height * width, parallel: parallel)
            networkInput = UnsafePointer(rounded)
        }
        // Encoder: level 0 from the input, then DoubleConv into the next skip, each block writing the next
        // level's pooled input as well. A block's first convolution has read its own input from `pooled`
        // before its second one writes the next level's there.
        network.encoder[0].forward(input: networkInput, height: height, width: width, output: concatenated[0].baseAddress!,
                                   middle: middle, scratch: columns.baseAddress!, columnsPerWorker: columnsPerWorker,
                                   parallel: parallel, pooled: pooled.baseAddress!, name: "inc", profile: profile)
        for level in 1...4 {
            let destination = level == 4 ? bottleneck.baseAddress! : concatenated[level].baseAddress!
            network.encoder[level].forward(input: pooled.baseAddress!, height: sizes[level].height, width: sizes[level].width,
                                           output: destination, middle: middle, scratch: columns.baseAddress!,
                                           columnsPerWorker: columnsPerWorker, parallel: parallel,
                                           pooled: level < 4 ? pooled.baseAddress! : nil, name: "down\(level)", profile: profile)
        }
        // Decoder: upsample the level below into the concat buffer after the skip, then DoubleConv.
        var below = UnsafePointer(bottleneck.baseAddress!)
        var belowChannels = network.encoder[4].second.outputChannels
        for (stage, layer) in network.decoder.enumerated() {
            let level = 3 - stage
            let source = sizes[level + 1], target = sizes[level]
            let skipChannels = network.encoder[level].second.outputChannels
            let destination = concatenated[level].baseAddress! + skipChannels * target.height * target.width
            let placement = PaddedPlacement(source: 2 * source.height, 2 * source.width, into: target.height, target.width)
            let input = below, inputChannels = belowChannels
            // A bf16 stage whose first convolution reads padded pairs: the upsampled channels go straight
            // into that input, and only the skip's channels are padded from the concat buffer.
            let pairedInput = bf16 && skipChannels % 2 == 0 && inputChannels % 2 == 0 && 2 * source.height == target.height && 2 * source.width == target.width
                ? layer.conv.pairedInputLayout(height: target.height, width: target.width) : nil
            var pairsPaddedFrom: Int?
            step("up\(stage + 1).upsample", channels: inputChannels, height: target.height, width: target.width) {
                switch layer.upsampler {
                case .bilinear:
                    if let pairedInput {
                        pairsPaddedFrom = skipChannels / 2
                        upsampleIntoPairs(input, channels: inputChannels, height: source.height, width: source.width,
                                          from: skipChannels / 2, layout: pairedInput)
                        return
                    }
                    let inPlane = source.height * source.width, outPlane = target.height * target.width
                    parallel.split(count: inputChannels) { _, channels in
                        BilinearUpsample2x.forward(input: input + channels.lowerBound * inPlane, channels: channels.count,
                                                   height: source.height, width: source.width,
                                                   output: destination + channels.lowerBound * outPlane, placement: placement,
                                                   roundedToBF16: bf16)
                    }
                case .transposed(let up):
                    up.forward(input: input, height: source.height, width: source.width, output: destination,
                               placement: placement, scratch: upsampleScratch.baseAddress!, parallel: parallel)
                    if bf16 {
                        BFloat16.round(destination, channels: layer.conv.first.inputChannels - skipChannels,
                                       plane: target.height * target.width, parallel: parallel)
                    }
                }
            }
            // The last stage's rows go through the 1×1 output layer as its second convolution finishes them,
            // while they are in cache, instead of in a pass over the whole layer.
            let output = network.outputConv, features = UnsafePointer(concatenated[level].baseAddress!), height = target.height, width = target.width
            layer.conv.forward(input: concatenated[level].baseAddress!, height: target.height, width: target.width,
                               output: concatenated[level].baseAddress!, middle: middle, scratch: columns.baseAddress!, columnsPerWorker: columnsPerWorker,
                               parallel: parallel, finishedRows: level > 0 ? nil : { rows in
                                   output.pointwise(input: features, height: height, width: width, rows: rows, output: logits, roundedToBF16: bf16)
                               }, fusedName: "+outc", pairsPaddedFrom: pairsPaddedFrom, name: "up\(stage + 1)", profile: profile)
            below = UnsafePointer(concatenated[level].baseAddress!)
            belowChannels = layer.conv.second.outputChannels
        }
    }

    /// Bilinear 2× upsampling of `channels` planes straight into the next convolution's padded bf16
    /// pairs in the scratch (`DoubleConv.pairedInputLayout`), as pairs `from ..< from + channels / 2`.
    private func upsampleIntoPairs(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, from first: Int,
                                   layout: (stride: Int, plane: Int)) {
        let pairs = UnsafeMutablePointer<UInt32>(OpaquePointer(columns.baseAddress!)), inPlane = height * width
        parallel.split(count: channels / 2) { _, channelPairs in
            BilinearUpsample2x.forwardPairs(input: input + 2 * channelPairs.lowerBound * inPlane, channels: 2 * channelPairs.count,
                                            height: height, width: width, pairs: pairs + (first + channelPairs.lowerBound) * layout.plane,
                                            stride: layout.stride, plane: layout.plane)
        }
    }
}
