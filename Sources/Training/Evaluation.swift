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
        /// Object scores, when the image has instance labels.
        public var objects: ObjectMetrics?

        enum CodingKeys: String, CodingKey {
            case name, accuracy, dice, iou, objects
            case predictedPositive = "predicted_positive_fraction", truthPositive = "truth_positive_fraction"
        }
    }

    /// Images with point truth, scored by detection only.
    public struct DetectionScore: Codable, Sendable {
        public var name: String
        public var detection: PointDetection
        /// The matching radius used, in the image's pixels.
        public var radiusPixels: Double

        enum CodingKeys: String, CodingKey { case name, detection, radiusPixels = "radius_px" }
    }

    public var images: [ImageScore]
    /// Point-truth images and their detection scores pooled (nil when there are none).
    public var detections: [DetectionScore] = []
    public var pooledDetection: PointDetection?
    public var meanAccuracy: Double
    public var meanDice: Double
    public var meanIoU: Double
    public var pooledAccuracy: Double
    public var pooledDice: Double
    public var pooledIoU: Double
    public var backgroundBaselineAccuracy: Double
    public var threshold: Float
    /// Object scores pooled over the images with instance labels (nil when none has them), and the
    /// per-image means of F1, AJI and PQ (the way papers report them).
    public var objects: ObjectMetrics?
    public var meanObjectF1: Double?
    public var meanAJI: Double?
    public var meanPQ: Double?
    /// How objects were separated for scoring.
    public var separation: ObjectSeparation = .components
    /// Overlays of the lowest-Dice images, worst first (kept only when asked for; not in the JSON).
    public var worst: [EvaluationThumbnail] = []

    enum CodingKeys: String, CodingKey {
        case images, meanAccuracy = "mean_accuracy", meanDice = "mean_dice", meanIoU = "mean_iou"
        case pooledAccuracy = "pooled_accuracy", pooledDice = "pooled_dice", pooledIoU = "pooled_iou"
        case backgroundBaselineAccuracy = "background_baseline_accuracy", threshold
        case detections, pooledDetection = "pooled_detection"
        case objects, meanObjectF1 = "mean_object_f1", meanAJI = "mean_aji", meanPQ = "mean_pq", separation = "object_separation"
    }

    /// Scores every image; `keepingWorst` > 0 also keeps that many overlay thumbnails of the
    /// lowest-Dice images (built as each image is scored, so no prediction is kept).
    /// Images with instance labels are also scored object by object, their objects separated by `separation`.
    public static func evaluate(network: UNet, preprocessing: Preprocessing, threshold: Float, images: [LabelledImage], threads: Int,
                                separation: ObjectSeparation = .components, matchRadiusMicrons: Double = 3,
                                keepingWorst: Int = 0) -> EvaluationReport {
        let predictor = ImagePredictor(network: network, preprocessing: preprocessing, threads: threads)
        var scores: [ImageScore] = [], pooled = ConfusionCounts(), worst: [EvaluationThumbnail] = []
        var detections: [DetectionScore] = []
        for item in images {
            let probabilities = predictor.probabilities(item.image)
            if let points = item.points {
                // Radius in µm when the image declares its scale, else taken as pixels.
                let radius = item.micronsPerPixel.map { matchRadiusMicrons / $0 } ?? matchRadiusMicrons
                let labels = InstanceLabeler.labels(probabilities: probabilities, width: item.image.width, height: item.image.height,
                                                    threshold: threshold, separation: separation)
                detections.append(DetectionScore(name: item.name, detection: PointDetection.compare(
                    truth: points, predicted: centroids(labels, width: item.image.width), radius: radius), radiusPixels: radius))
                continue
            }
            var counts = ConfusionCounts()
            for i in probabilities.indices { counts.add(predicted: probabilities[i] >= threshold, truth: item.mask[i] != 0) }
            let pixels = Double(max(probabilities.count, 1))
            var score = ImageScore(name: item.name, accuracy: counts.accuracy, dice: counts.dice, iou: counts.iou,
                                   predictedPositive: Double(counts.truePositives + counts.falsePositives) / pixels,
                                   truthPositive: Double(counts.truePositives + counts.falseNegatives) / pixels)
            var objectMatches: (predicted: [Int32], matches: [(truth: Int32, predicted: Int32)])?
            if let instances = item.instances {
                let predicted = InstanceLabeler.labels(probabilities: probabilities, width: item.image.width, height: item.image.height,
                                                       threshold: threshold, separation: separation)
                let (metrics, matches) = ObjectMetrics.compareMatching(truth: instances, prediction: predicted)
                score.objects = metrics
                objectMatches = (predicted, matches)
            }
            scores.append(score)
            pooled = pooled + counts
            if keepingWorst > 0, worst.count < keepingWorst || score.dice < worst.last!.dice {
                worst.append(EvaluationThumbnail(image: item, probabilities: probabilities, threshold: threshold, dice: score.dice,
                                                 objects: objectMatches))
                worst.sort { $0.dice < $1.dice }
                if worst.count > keepingWorst { worst.removeLast() }
            }
        }
        let n = Double(max(scores.count, 1))
        var report = EvaluationReport(images: scores, meanAccuracy: scores.map(\.accuracy).reduce(0, +) / n,
                                      meanDice: scores.map(\.dice).reduce(0, +) / n, meanIoU: scores.map(\.iou).reduce(0, +) / n,
                                      pooledAccuracy: pooled.accuracy, pooledDice: pooled.dice, pooledIoU: pooled.iou,
                                      backgroundBaselineAccuracy: pooled.backgroundBaselineAccuracy, threshold: threshold, worst: worst)
        let objectScores = scores.compactMap(\.objects)
        if !objectScores.isEmpty {
            let count = Double(objectScores.count)
            report.objects = objectScores.dropFirst().reduce(objectScores[0], +)
            report.meanObjectF1 = objectScores.map(\.f1).reduce(0, +) / count
            report.meanAJI = objectScores.map(\.aggregatedJaccard).reduce(0, +) / count
            report.meanPQ = objectScores.map(\.panopticQuality).reduce(0, +) / count
        }
        report.separation = separation
        report.detections = detections
        report.pooledDetection = detections.isEmpty ? nil : detections.dropFirst().reduce(detections[0].detection) { $0 + $1.detection }
        return report
    }

    /// Each object's centroid (pixel centres at +0.5), in label order.
    static func centroids(_ labels: [Int32], width: Int) -> [PointDetection.Point] {
        var sums: [Int32: (x: Double, y: Double, count: Double)] = [:]
        for (index, label) in labels.enumerated() where label != 0 {
            let sum = sums[label] ?? (0, 0, 0)
            sums[label] = (sum.x + Double(index % width) + 0.5, sum.y + Double(index / width) + 0.5, sum.count + 1)
        }
        return sums.keys.sorted().map { let s = sums[$0]!; return PointDetection.Point(x: s.x / s.count, y: s.y / s.count) }
    }
}
