import SlideIO
import UNetCore
import UNetEngine

/// Foreground probabilities for an image held in memory, inferred whole (padded by reflection to a
/// multiple of 16): what training validation and `unet eval` score.
public final class ImagePredictor {
    private let runner: UNetRunner
    private let classes: Int
    private let input: TileInput

    public init(network: UNet, preprocessing: Preprocessing, threads: Int) {
        runner = UNetRunner(network: network, threads: threads)
        classes = network.architecture.classes
        input = TileInput(preprocessing: preprocessing)
    }

    /// Probability per pixel, `width × height`, row-major.
    public func probabilities(_ image: RGBImage) -> [Float] {
        let multiple = UNet.minimumInputSide
        let width = (image.width + multiple - 1) / multiple * multiple, height = (image.height + multiple - 1) / multiple * multiple
        var tensor = [Float](repeating: 0, count: 3 * width * height)
        tensor.withUnsafeMutableBufferPointer { input.fill($0.baseAddress!, width: width, height: height, from: image, x: 0, y: 0) }
        var logits = [Float](repeating: 0, count: classes * width * height)
        var padded = [Float](repeating: 0, count: width * height)
        tensor.withUnsafeBufferPointer { source in
            logits.withUnsafeMutableBufferPointer { runner.logits(input: source.baseAddress!, height: height, width: width, into: $0.baseAddress!) }
        }
        logits.withUnsafeBufferPointer { source in
            padded.withUnsafeMutableBufferPointer {
                ForegroundProbability.compute(logits: source.baseAddress!, classes: classes, plane: width * height, into: $0.baseAddress!)
            }
        }
        var result = [Float](repeating: 0, count: image.width * image.height)
        for y in 0..<image.height { for x in 0..<image.width { result[y * image.width + x] = padded[y * width + x] } }
        return result
    }
}
