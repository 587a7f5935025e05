import Foundation
import UNetCore

/// Runs a `UNet` on single images, reusing one set of activation buffers per input size, so that
/// after the first tile of a given size no memory is allocated. Not thread-safe: one runner per worker.
public final class UNetRunner {
    public let network: UNet
    private var workspace: Workspace?

    private let parallel: ParallelBands

    /// A runner using `threads` workers; each calls OpenBLAS single-threaded on its own band.
    public init(network: UNet, threads: Int = 1) {
        self.network = network
        parallel = ParallelBands(workers: max(1, threads))
        BLAS.threads = 1
    }

    /// When set, every forward pass times its layers into it (`unet bench --layers`).
    public var profile: LayerProfile?

    /// Logits `[classes, height, width]` for an input `[inputChannels, height, width]` (NCHW, batch 1).
    public func logits(input: UnsafePointer<Float>, height: Int, width: Int, into logits: UnsafeMutablePointer<Float>) {
        precondition(height >= UNet.minimumInputSide && width >= UNet.minimumInputSide,
                     "input \(width)×\(height) is smaller than \(UNet.minimumInputSide)×\(UNet.minimumInputSide)")
        if workspace?.height != height || workspace?.width != width {
            workspace = nil  // release the previous size first so peak memory holds only one workspace
            workspace = Workspace(network: network, height: height, width: width, parallel: parallel)
        }
        workspace!.run(network, input: input, logits: logits, profile: profile)
    }

    /// Calls `body` on consecutive ranges that together cover `0..<count`, on the runner's workers at
    /// once: for a tile's per-pixel steps (preparing its input, the sigmoid) that would otherwise run
    /// on one core while the others wait. Only for work whose result does not depend on the split.
    public func split(count: Int, _ body: (Range<Int>) -> Void) {
        parallel.split(count: count) { _, range in body(range) }
    }

    /// The foreground probability of `logits` (`[classes, height · width]`), on the runner's workers.
    public func probability(logits: UnsafePointer<Float>, plane: Int, into probability: UnsafeMutablePointer<Float>) {
        split(count: plane) { pixels in
            ForegroundProbability.compute(logits: logits, classes: network.architecture.classes, plane: plane, into: probability, pixels: pixels)
        }
    }

    /// Logits for a `[1, C, H, W]` or `[C, H, W]` tensor, as `[1, classes, H, W]`.
    public func logits(_ input: Tensor) throws(CheckpointProblem) -> Tensor {
        let dims = Array(input.shape.suffix(3))
        guard input.shape.count >= 3, input.shape.dropLast(3).allSatisfy({ $0 == 1 }),
              dims[0] == network.architecture.inputChannels else {
            throw CheckpointProblem("input of shape \(input.shape) does not fit a network with \(network.architecture.inputChannels) input channels")
        }
        guard dims[1] >= UNet.minimumInputSide, dims[2] >= UNet.minimumInputSide else {
            throw CheckpointProblem("input \(dims[2])×\(dims[1]) is smaller than \(UNet.minimumInputSide)×\(UNet.minimumInputSide)")
        }
        var output = Tensor(zeros: [1, network.architecture.classes, dims[1], dims[2]])
        input.scalars.withUnsafeBufferPointer { source in
            output.scalars.withUnsafeMutableBufferPointer { destination in
                logits(input: source.baseAddress!, height: dims[1], width: dims[2], into: destination.baseAddress!)
            }
        }
        return output
    }

    /// Foreground probability `[1, 1, H, W]`: sigmoid of one logit, or softmax class 1 of several.
    public func probability(_ input: Tensor) throws(CheckpointProblem) -> Tensor {
        let logits = try logits(input)
        let plane = logits.shape[2] * logits.shape[3]
        var probability = Tensor(zeros: [1, 1, logits.shape[2], logits.shape[3]])
        logits.scalars.withUnsafeBufferPointer { source in
            probability.scalars.withUnsafeMutableBufferPointer { destination in
                ForegroundProbability.compute(logits: source.baseAddress!, classes: network.architecture.classes,
                                              plane: plane, into: destination.baseAddress!)
            }
        }
        return probability
    }
}
