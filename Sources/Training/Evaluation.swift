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
        /// Fractions of the image's pixels that the model, and the truth, call foreground.
        public var predictedPositive: Double
        public var truthPositive: Double

        enum CodingKeys: String, CodingKey {
            case name, accuracy, dice, iou
            case predictedPositive = "predicted_positive_fraction", truthPositive = "truth_positive_fraction"
        }
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
    /// Overlays of the lowest-Dice images, worst first (kept only when asked for; not in the JSON).
    public var worst: [EvaluationThumbnail] = []

    enum CodingKeys: String, CodingKey {
        case images, meanAccuracy = "mean_accuracy", meanDice = "mean_dice", meanIoU = "mean_iou"
        case pooledAccuracy = "pooled_accuracy", pooledDice = "pooled_dice", pooledIoU = "pooled_iou"
        case backgroundBaselineAccuracy = "background_baseline_accuracy", threshold
    }

    /// Scores every image; `keepingWorst` > 0 also keeps that many overlay thumbnails of the
    /// lowest-Dice images (built as each image is scored, so no prediction is kept).
    public static func evaluate(network: UNet, preprocessing: Preprocessing, threshold: Float, images: [LabelledImage], threads: Int,
                                keepingWorst: Int = 0) -> EvaluationReport {
        let predictor = ImagePredictor(network: network, preprocessing: preprocessing, threads: threads)
        var scores: [ImageScore] = [], pooled = ConfusionCounts(), worst: [EvaluationThumbnail] = []
        for item in images {
            let probabilities = predictor.probabilities(item.image)
            var counts = ConfusionCounts()
            for i in probabilities.indices { counts.add(predicted: probabilities[i] >= threshold, truth: item.mask[i] != 0) }
            let pixels = Double(max(probabilities.count, 1))
            let score = ImageScore(name: item.name, accuracy: counts.accuracy, dice: counts.dice, iou: counts.iou,
                                   predictedPositive: Double(counts.truePositives + counts.falsePositives) / pixels,
                                   truthPositive: Double(counts.truePositives + counts.falseNegatives) / pixels)
            scores.append(score)
            pooled = pooled + counts
            if keepingWorst > 0, worst.count < keepingWorst || score.dice < worst.last!.dice {
                worst.append(EvaluationThumbnail(image: item, probabilities: probabilities, threshold: threshold, dice: score.dice))
                worst.sort { $0.dice < $1.dice }
                if worst.count > keepingWorst { worst.removeLast() }
            }
        }
        let n = Double(max(scores.count, 1))
        return EvaluationReport(images: scores, meanAccuracy: scores.map(\.accuracy).reduce(0, +) / n,
                                meanDice: scores.map(\.dice).reduce(0, +) / n, meanIoU: scores.map(\.iou).reduce(0, +) / n,
                                pooledAccuracy: pooled.accuracy, pooledDice: pooled.dice, pooledIoU: pooled.iou,
                                backgroundBaselineAccuracy: pooled.backgroundBaselineAccuracy, threshold: threshold, worst: worst)
    }
}
