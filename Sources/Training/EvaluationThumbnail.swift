import SlideIO

/// A small picture of where the model fails on one image: the image at most `side` pixels across,
/// tinted where prediction and truth meet (yellow: both foreground), disagree as false positives
/// (red: predicted, not true) or false negatives (blue: true, missed). With instance truth it colours
/// objects rather than pixels: matched objects (IoU > 0.5) yellow, false objects red, missed nuclei blue.
public struct EvaluationThumbnail: Sendable {
    public let name: String
    public let dice: Double
    public let picture: RGBImage

    public static let truePositive = (red: 255.0, green: 215.0, blue: 0.0)
    public static let falsePositive = (red: 230.0, green: 30.0, blue: 30.0)
    public static let falseNegative = (red: 30.0, green: 90.0, blue: 240.0)

    /// `objects`: the predicted instance map and the matched pairs, when the truth has instances.
    public init(image item: LabelledImage, probabilities: [Float], threshold: Float, dice: Double, side: Int = 320,
                objects: (predicted: [Int32], matches: [(truth: Int32, predicted: Int32)])? = nil) {
        let matchedTruth = Set(objects?.matches.map(\.truth) ?? []), matchedPredicted = Set(objects?.matches.map(\.predicted) ?? [])
        name = item.name
        self.dice = dice
        let source = item.image
        let scale = min(1, Double(side) / Double(max(source.width, source.height)))
        let width = max(1, Int(Double(source.width) * scale)), height = max(1, Int(Double(source.height) * scale))
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let sourceY = min(source.height - 1, Int((Double(y) + 0.5) / scale))
            for x in 0..<width {
                let sourceX = min(source.width - 1, Int((Double(x) + 0.5) / scale))
                let index = sourceY * source.width + sourceX
                let predicted = probabilities[index] >= threshold, truth = item.mask[index] != 0
                var tint = predicted && truth ? Self.truePositive : predicted ? Self.falsePositive : truth ? Self.falseNegative : nil
                if let objects, let instances = item.instances {
                    let p = objects.predicted[index], t = instances[index]
                    tint = p != 0 ? (matchedPredicted.contains(p) ? Self.truePositive : Self.falsePositive)
                        : t != 0 && !matchedTruth.contains(t) ? Self.falseNegative : nil
                }
                for channel in 0..<3 {
                    let value = Double(source.pixels[index * 3 + channel])
                    let colour = tint.map { [$0.red, $0.green, $0.blue][channel] }
                    pixels[(y * width + x) * 3 + channel] = UInt8((colour.map { 0.45 * value + 0.55 * $0 } ?? value).rounded())
                }
            }
        }
        picture = RGBImage(width: width, height: height, pixels: pixels)
    }
}
