import UNetCore

/// A U-Net in training mode over a fixed batch shape: forward with batch statistics, backward through
/// every layer (conv, BatchNorm, ReLU, max-pool, bilinear or transposed-conv ups, pad, concat), one-class
/// loss on the logits. Layers are the inference layers plus their `backward`.
final class UNetTrainingGraph {
    let architecture: UNetArchitecture
    let batch: Int, height: Int, width: Int
    private let context: TrainingContext
    private let sizes: [(height: Int, width: Int)]
    private let encoder: [TrainableDoubleConv]
    private let decoder: [TrainableDoubleConv]       // stage i works at level 3 - i
    private let pooled: [FloatBuffer]                // levels 1...4 (index 0 unused)
    private let concatenated: [FloatBuffer]          // levels 0...3
    private let logits: FloatBuffer
    private let upScratch: FloatBuffer
    private let upScratchPerWorker: Int
    // Gradients
    private let concatenatedGradient: [FloatBuffer]
    private let encoderGradient: [FloatBuffer]       // d/d encoder output, levels 0...4
    private let pooledGradient: FloatBuffer
    private let poolRouted: FloatBuffer              // what max-pool backward routes to the level above
    private let decoderGradient: FloatBuffer
    private let logitGradient: FloatBuffer
    private let upWeightRows: FloatBuffer

    init(architecture: UNetArchitecture, parameters: ParameterSet, batch: Int, height: Int, width: Int, workers: Int) {
        precondition(height % 16 == 0 && width % 16 == 0, "training tiles must be multiples of 16")
        self.architecture = architecture
        self.batch = batch
        self.height = height
        self.width = width
        var sizes = [(height, width)]
        for _ in 0..<UNetArchitecture.depth { sizes.append((sizes.last!.0 / 2, sizes.last!.1 / 2)) }
        self.sizes = sizes
        func plane(_ level: Int) -> Int { sizes[level].0 * sizes[level].1 }
        encoder = architecture.encoderBlocks.enumerated().map { level, shape in
            TrainableDoubleConv(shape: shape, parameters: parameters, batch: batch, height: sizes[level].0, width: sizes[level].1)
        }
        decoder = architecture.decoderBlocks.enumerated().map { stage, shape in
            TrainableDoubleConv(shape: shape.conv, parameters: parameters, batch: batch, height: sizes[3 - stage].0, width: sizes[3 - stage].1)
        }
        pooled = (0...4).map { level in FloatBuffer(level == 0 ? 1 : batch * architecture.encoderBlocks[level].input * plane(level)) }
        concatenated = (0...3).map { FloatBuffer(batch * architecture.decoderBlocks[3 - $0].conv.input * plane($0)) }
        concatenatedGradient = (0...3).map { FloatBuffer(batch * architecture.decoderBlocks[3 - $0].conv.input * plane($0)) }
        encoderGradient = (0...4).map { FloatBuffer(batch * architecture.encoderBlocks[$0].output * plane($0)) }
        pooledGradient = FloatBuffer((1...4).map { batch * architecture.encoderBlocks[$0].input * plane($0) }.max()!)
        poolRouted = FloatBuffer((0...3).map { batch * architecture.encoderBlocks[$0].output * plane($0) }.max()!)
        decoderGradient = FloatBuffer((0...3).map { batch * architecture.decoderBlocks[3 - $0].conv.output * plane($0) }.max()!)
        logits = FloatBuffer(batch * architecture.classes * plane(0))
        logitGradient = FloatBuffer(batch * architecture.classes * plane(0))
        let ups = architecture.decoderBlocks.enumerated().map { stage, up in (up.input, up.input / 2, plane(4 - stage)) }
        upScratchPerWorker = architecture.upsampling == .transposed ? ups.map { $0.1 * 4 * $0.2 }.max()! : 0
        upScratch = FloatBuffer(upScratchPerWorker * max(workers, 1))
        upWeightRows = FloatBuffer(architecture.upsampling == .transposed ? ups.map { $0.0 * $0.1 * 4 }.max()! : 1)
        // im2col capacity: the largest band any convolution's forward asks for, and at least one row for backward.
        var capacity = 0, largestWeight = architecture.classes * architecture.width, largestBias = architecture.classes
        for (level, block) in zip(Array(0...4) + [3, 2, 1, 0], encoder + decoder) {
            for half in 0..<2 {
                let conv = block.conv(half, parameters)
                capacity = max(capacity, conv.columnRows * sizes[level].1 * conv.bandRows(height: sizes[level].0, width: sizes[level].1))
                largestWeight = max(largestWeight, conv.weight.count)
                largestBias = max(largestBias, conv.outputChannels)
            }
        }
        context = TrainingContext(workers: workers, columnCapacity: max(capacity, 1 << 18), largestWeight: largestWeight, largestBias: largestBias)
    }

    /// One forward and backward pass; gradients accumulate into `parameters.gradients`. Returns the
    /// loss and leaves the logits readable through `withLogits`.
    func step(images: UnsafePointer<Float>, targets: UnsafePointer<Float>, loss: TrainingLoss, parameters: inout ParameterSet) -> Float {
        forward(images, parameters: &parameters)
        let value = loss.evaluate(logits: logits.pointer, targets: targets, images: batch, pixels: height * width, gradient: logitGradient.pointer)
        backward(images, parameters: &parameters)
        parameters.batchesTracked += 1
        return value
    }

    func withLogits<T>(_ body: (UnsafeBufferPointer<Float>) -> T) -> T {
        body(UnsafeBufferPointer(start: logits.pointer, count: batch * architecture.classes * height * width))
    }

    private func plane(_ level: Int) -> Int { sizes[level].height * sizes[level].width }

    private func forward(_ images: UnsafePointer<Float>, parameters: inout ParameterSet) {
        for level in 0...4 {
            let input = level == 0 ? images : UnsafePointer(pooled[level].pointer)
            if level > 0 {
                let source = encoder[level - 1].output.pointer, channels = architecture.encoderBlocks[level - 1].output
                context.forEachImage(batch) { _, n in
                    MaxPool2x2.forward(input: source + n * channels * plane(level - 1), channels: channels,
                                       height: sizes[level - 1].height, width: sizes[level - 1].width,
                                       output: pooled[level].pointer + n * channels * plane(level))
                }
            }
            encoder[level].forward(input, parameters: &parameters, context: context)
        }
        for (stage, up) in architecture.decoderBlocks.enumerated() {
            let level = 3 - stage
            let below = stage == 0 ? encoder[4].output.pointer : decoder[stage - 1].output.pointer
            let belowChannels = stage == 0 ? architecture.encoderBlocks[4].output : architecture.decoderBlocks[stage - 1].conv.output
            let skipChannels = architecture.encoderBlocks[level].output, catChannels = up.conv.input
            let placement = PaddedPlacement(source: 2 * sizes[level + 1].height, 2 * sizes[level + 1].width,
                                            into: sizes[level].height, sizes[level].width)
            let transposed = transposedUp(stage, parameters)
            context.forEachImage(batch) { worker, n in
                let destination = concatenated[level].pointer + n * catChannels * plane(level)
                destination.update(from: encoder[level].output.pointer + n * skipChannels * plane(level), count: skipChannels * plane(level))
                let upInput = below + n * belowChannels * plane(level + 1)
                if let transposed {
                    transposed.forward(input: upInput, height: sizes[level + 1].height, width: sizes[level + 1].width,
                                       output: destination + skipChannels * plane(level), placement: placement,
                                       scratch: upScratch.pointer + worker * upScratchPerWorker, parallel: context.serial)
                } else {
                    BilinearUpsample2x.forward(input: upInput, channels: belowChannels, height: sizes[level + 1].height,
                                               width: sizes[level + 1].width, output: destination + skipChannels * plane(level), placement: placement)
                }
            }
            decoder[stage].forward(concatenated[level].pointer, parameters: &parameters, context: context)
        }
        let output = outputConv(parameters)
        context.forEachImage(batch) { worker, n in
            output.forward(input: decoder[3].output.pointer + n * output.inputChannels * plane(0), height: height, width: width,
                           output: logits.pointer + n * architecture.classes * plane(0), relu: false,
                           scratch: context.columns(worker), columnsPerWorker: context.columnCapacity, parallel: context.serial)
        }
    }

    private func backward(_ images: UnsafePointer<Float>, parameters: inout ParameterSet) {
        let output = outputConv(parameters)
        context.convolutionBackward(output, input: decoder[3].output.pointer, outputGradient: logitGradient.pointer,
                                    inputGradient: decoderGradient.pointer, batch: batch, height: height, width: width,
                                    weightGradient: parameters.index(of: "outc.conv.weight")!,
                                    biasGradient: parameters.index(of: "outc.conv.bias")!, parameters: &parameters)
        for (stage, up) in architecture.decoderBlocks.enumerated().reversed() {
            let level = 3 - stage
            decoder[stage].backward(concatenated[level].pointer, outputGradient: decoderGradient.pointer,
                                    inputGradient: concatenatedGradient[level].pointer, parameters: &parameters, context: context)
            // Split d concat into the skip's share and the upsampled map's share.
            let skipChannels = architecture.encoderBlocks[level].output, catChannels = up.conv.input
            let belowChannels = stage == 0 ? architecture.encoderBlocks[4].output : architecture.decoderBlocks[stage - 1].conv.output
            let belowGradient = stage == 0 ? encoderGradient[4].pointer : decoderGradient.pointer
            let below = stage == 0 ? encoder[4].output.pointer : decoder[stage - 1].output.pointer
            let placement = PaddedPlacement(source: 2 * sizes[level + 1].height, 2 * sizes[level + 1].width,
                                            into: sizes[level].height, sizes[level].width)
            for n in 0..<batch {
                (encoderGradient[level].pointer + n * skipChannels * plane(level))
                    .update(from: concatenatedGradient[level].pointer + n * catChannels * plane(level), count: skipChannels * plane(level))
            }
            if let transposed = transposedUp(stage, parameters) {
                let weightIndex = parameters.index(of: "\(up.name).up.weight")!, biasIndex = parameters.index(of: "\(up.name).up.bias")!
                upWeightRows.pointer.update(repeating: 0, count: transposed.weightRows.count)
                for n in 0..<batch {  // serial: the weight gradient is shared
                    parameters.gradients[biasIndex].withUnsafeMutableBufferPointer { biasGradient in
                        transposed.backward(input: below + n * belowChannels * plane(level + 1),
                                            outputGradient: concatenatedGradient[level].pointer + (n * catChannels + skipChannels) * plane(level),
                                            height: sizes[level + 1].height, width: sizes[level + 1].width, placement: placement,
                                            inputGradient: belowGradient + n * belowChannels * plane(level + 1),
                                            weightRowsGradient: upWeightRows.pointer, biasGradient: biasGradient.baseAddress!,
                                            scratch: upScratch.pointer)
                    }
                }
                let torchLayout = TransposedConv2x2.torchWeight(fromRows: upWeightRows.pointer, inputChannels: transposed.inputChannels,
                                                                outputChannels: transposed.outputChannels)
                for i in torchLayout.indices { parameters.gradients[weightIndex][i] += torchLayout[i] }
            } else {
                context.forEachImage(batch) { _, n in
                    BilinearUpsample2x.backward(outputGradient: concatenatedGradient[level].pointer + (n * catChannels + skipChannels) * plane(level),
                                                channels: belowChannels, height: sizes[level + 1].height, width: sizes[level + 1].width,
                                                placement: placement, inputGradient: belowGradient + n * belowChannels * plane(level + 1))
                }
            }
        }
        // Encoder, bottom up: each level's output gradient is its skip share plus what its pooling passed back.
        for level in stride(from: 4, through: 0, by: -1) {
            let input = level == 0 ? images : UnsafePointer(pooled[level].pointer)
            encoder[level].backward(input, outputGradient: encoderGradient[level].pointer,
                                    inputGradient: level == 0 ? nil : pooledGradient.pointer, parameters: &parameters, context: context)
            guard level > 0 else { continue }
            let channels = architecture.encoderBlocks[level - 1].output, above = sizes[level - 1]
            context.forEachImage(batch) { _, n in
                let size = channels * plane(level - 1)
                let routed = poolRouted.pointer + n * size, skip = encoderGradient[level - 1].pointer + n * size
                MaxPool2x2.backward(input: encoder[level - 1].output.pointer + n * size,
                                    outputGradient: pooledGradient.pointer + n * channels * plane(level),
                                    channels: channels, height: above.height, width: above.width, inputGradient: routed)
                for i in 0..<size { skip[i] += routed[i] }
            }
        }
    }

    private func outputConv(_ parameters: ParameterSet) -> Conv2D {
        Conv2D(weight: Tensor(shape: [architecture.classes, architecture.width, 1, 1], scalars: parameters.values[parameters.index(of: "outc.conv.weight")!]),
               bias: Tensor(shape: [architecture.classes], scalars: parameters.values[parameters.index(of: "outc.conv.bias")!]))
    }

    private func transposedUp(_ stage: Int, _ parameters: ParameterSet) -> TransposedConv2x2? {
        guard architecture.upsampling == .transposed else { return nil }
        let up = architecture.decoderBlocks[stage]
        return TransposedConv2x2(weight: Tensor(shape: [up.input, up.input / 2, 2, 2], scalars: parameters.values[parameters.index(of: "\(up.name).up.weight")!]),
                                 bias: Tensor(shape: [up.input / 2], scalars: parameters.values[parameters.index(of: "\(up.name).up.bias")!]))
    }
}
