/// Pixel counts of a binary prediction against ground truth, and the scores derived from them.
public struct ConfusionCounts: Sendable, Equatable, Codable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var trueNegatives = 0

    public init() {}

    public mutating func add(predicted: Bool, truth: Bool) {
        switch (predicted, truth) {
        case (true, true): truePositives += 1
        case (true, false): falsePositives += 1
        case (false, true): falseNegatives += 1
        case (false, false): trueNegatives += 1
        }
    }

    public static func + (a: ConfusionCounts, b: ConfusionCounts) -> ConfusionCounts {
        var sum = a
        sum.truePositives += b.truePositives
        sum.falsePositives += b.falsePositives
        sum.falseNegatives += b.falseNegatives
        sum.trueNegatives += b.trueNegatives
        return sum
    }

    public var total: Int { truePositives + falsePositives + falseNegatives + trueNegatives }
    public var accuracy: Double { total == 0 ? 0 : Double(truePositives + trueNegatives) / Double(total) }
    /// The reference project's Dice: (2|P∩T| + 1e-6) / (|P| + |T| + 1e-6), so an empty prediction of an
    /// empty truth scores 1.
    public var dice: Double {
        (2 * Double(truePositives) + 1e-6) / (Double(2 * truePositives + falsePositives + falseNegatives) + 1e-6)
    }
    /// |P∩T| / |P∪T| with the same smoothing.
    public var iou: Double {
        (Double(truePositives) + 1e-6) / (Double(truePositives + falsePositives + falseNegatives) + 1e-6)
    }
    /// Accuracy of predicting background everywhere: what accuracy alone says about an empty mask.
    public var backgroundBaselineAccuracy: Double {
        total == 0 ? 0 : Double(falsePositives + trueNegatives) / Double(total)
    }
}
