import Segmentation
import UNetCore
import UNetEngine

/// Scores of a model on labelled images: per-image means (the reference project's way) and pooled
/// over all pixels, with the all-background baseline so accuracy can be read in context.
public struct EvaluationReport: Codable, Sendable {
    public struct ImageScore: Codable, Sendable {
        public var name: String
        public var accuracy: Double
        public var dice: Double
        public var iou: Double
    }

    public var images: [ImageScore]
    public var meanAccuracy: Double
    public var meanDice: Double
    public var meanIoU: Double
    public var pooledAccuracy: Double
    public var pooledDice: Double
    public var pooledIoU: Double
    public var backgroundBaselineAccuracy: Double
    public var threshold: Float

    enum CodingKeys: String, CodingKey {
        case images, meanAccuracy = "mean_accuracy", meanDice = "mean_dice", meanIoU = "mean_iou"
        case pooledAccuracy = "pooled_accuracy", pooledDice = "pooled_dice", pooledIoU = "pooled_iou"
        case backgroundBaselineAccuracy = "background_baseline_accuracy", threshold
    }

    public static func evaluate(network: UNet, preprocessing: Preprocessing, threshold: Float, images: [LabelledImage], threads: Int) -> EvaluationReport {
        let predictor = ImagePredictor(network: network, preprocessing: preprocessing, threads: threads)
        var scores: [ImageScore] = [], pooled = ConfusionCounts()
        for item in images {
            let probabilities = predictor.probabilities(item.image)
            var counts = ConfusionCounts()
            for i in probabilities.indices { counts.add(predicted: probabilities[i] >= threshold, truth: item.mask[i] != 0) }
            scores.append(ImageScore(name: item.name, accuracy: counts.accuracy, dice: counts.dice, iou: counts.iou))
            pooled = pooled + counts
        }
        let n = Double(max(scores.count, 1))
        return EvaluationReport(images: scores, meanAccuracy: scores.map(\.accuracy).reduce(0, +) / n,
                                meanDice: scores.map(\.dice).reduce(0, +) / n, meanIoU: scores.map(\.iou).reduce(0, +) / n,
                                pooledAccuracy: pooled.accuracy, pooledDice: pooled.dice, pooledIoU: pooled.iou,
                                backgroundBaselineAccuracy: pooled.backgroundBaselineAccuracy, threshold: threshold)
    }
}
