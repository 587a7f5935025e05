/// Object-level scores of a predicted instance map against a truth instance map, the way nucleus
/// segmenters are compared (HoVer-Net's `get_fast_pq` and `get_fast_aji` are the common reference):
/// - F1, precision and recall of objects matched one to one at IoU > 0.5 (above 0.5 no object can
///   match two, so the pairing is unique without any assignment step);
/// - PQ = DQ × SQ (Kirillov et al.): DQ is that F1, SQ the mean IoU of the matched pairs;
/// - AJI (Kumar et al. 2017): every truth object paired with the prediction it overlaps most, the
///   pairs' intersections over their unions plus every object left unpaired.
///
/// Counts add up over images (`+`), so a data set can be scored pooled as well as per image.
public struct ObjectMetrics: Sendable, Equatable, Codable {
    public var truthObjects = 0
    public var predictedObjects = 0
    /// Pairs with IoU > 0.5.
    public var matched = 0
    /// Sum of the matched pairs' IoU (SQ's numerator).
    public var matchedIoUSum = 0.0
    /// AJI's numerator and denominator, in pixels.
    public var ajiIntersection = 0
    public var ajiUnion = 0

    public init() {}

    public var falsePositives: Int { predictedObjects - matched }
    public var falseNegatives: Int { truthObjects - matched }
    /// 1 when neither map has an object (nothing to find, nothing invented).
    public var precision: Double { predictedObjects == 0 ? (truthObjects == 0 ? 1 : 0) : Double(matched) / Double(predictedObjects) }
    public var recall: Double { truthObjects == 0 ? (predictedObjects == 0 ? 1 : 0) : Double(matched) / Double(truthObjects) }
    /// 2·TP / (2·TP + FP + FN), which is also PQ's detection quality DQ.
    public var f1: Double {
        let denominator = truthObjects + predictedObjects
        return denominator == 0 ? 1 : 2 * Double(matched) / Double(denominator)
    }
    public var segmentationQuality: Double { matched == 0 ? 0 : matchedIoUSum / Double(matched) }
    public var panopticQuality: Double { f1 * segmentationQuality }
    public var aggregatedJaccard: Double { ajiUnion == 0 ? 1 : Double(ajiIntersection) / Double(ajiUnion) }

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.truthObjects += b.truthObjects
        sum.predictedObjects += b.predictedObjects
        sum.matched += b.matched
        sum.matchedIoUSum += b.matchedIoUSum
        sum.ajiIntersection += b.ajiIntersection
        sum.ajiUnion += b.ajiUnion
        return sum
    }

    /// Scores `prediction` against `truth`: label maps of one image (0 = background, any other value one
    /// object; the ids need not be consecutive). Linear in the pixel count.
    public static func compare(truth: [Int32], prediction: [Int32]) -> ObjectMetrics {
        compareMatching(truth: truth, prediction: prediction).metrics
    }

    /// `compare`, with the matched pairs (truth id, predicted id) at IoU > 0.5.
    public static func compareMatching(truth: [Int32], prediction: [Int32]) -> (metrics: ObjectMetrics, matches: [(truth: Int32, predicted: Int32)]) {
        precondition(truth.count == prediction.count, "label maps differ in size")
        var truthArea: [Int32: Int] = [:], predictedArea: [Int32: Int] = [:]
        var overlap: [Int64: Int] = [:]  // (truth id, predicted id) → shared pixels
        for i in truth.indices {
            let t = truth[i], p = prediction[i]
            if t != 0 { truthArea[t, default: 0] += 1 }
            if p != 0 { predictedArea[p, default: 0] += 1 }
            if t != 0 && p != 0 { overlap[Int64(t) << 32 | Int64(UInt32(bitPattern: p)), default: 0] += 1 }
        }
        var metrics = ObjectMetrics()
        metrics.truthObjects = truthArea.count
        metrics.predictedObjects = predictedArea.count
        // For AJI: each truth object's best prediction by IoU (ties to the lower id, for a stable answer).
        var best: [Int32: (predicted: Int32, iou: Double, intersection: Int, union: Int)] = [:]
        var matches: [(truth: Int32, predicted: Int32)] = []
        for (key, intersection) in overlap {
            let t = Int32(truncatingIfNeeded: key >> 32), p = Int32(truncatingIfNeeded: key)
            let union = truthArea[t]! + predictedArea[p]! - intersection
            let iou = Double(intersection) / Double(union)
            if iou > 0.5 {
                matches.append((t, p))
                metrics.matched += 1
                metrics.matchedIoUSum += iou
            }
            if let current = best[t], current.iou > iou || (current.iou == iou && current.predicted < p) { continue }
            best[t] = (p, iou, intersection, union)
        }
        var paired = Set<Int32>()
        for (t, area) in truthArea {
            if let pair = best[t] {
                metrics.ajiIntersection += pair.intersection
                metrics.ajiUnion += pair.union
                paired.insert(pair.predicted)
            } else {
                metrics.ajiUnion += area
            }
        }
        for (p, area) in predictedArea where !paired.contains(p) { metrics.ajiUnion += area }
        return (metrics, matches)
    }

    enum CodingKeys: String, CodingKey {
        case truthObjects = "truth_objects", predictedObjects = "predicted_objects", matched
        case matchedIoUSum = "matched_iou_sum", ajiIntersection = "aji_intersection", ajiUnion = "aji_union"
    }
}
