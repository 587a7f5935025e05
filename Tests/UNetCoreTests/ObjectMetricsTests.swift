import Testing
import UNetCore

/// Object metrics on label maps small enough to work out by hand.
@Suite struct ObjectMetricsTests {
    /// A label map from rows of characters: "." background, a digit one object's id.
    static func labels(_ rows: [String]) -> [Int32] { rows.flatMap { $0.map { $0 == "." ? 0 : Int32(String($0))! } } }

    @Test func aPerfectPredictionScoresOneWhateverItsIds() {
        let truth = Self.labels(["11..", "11.2", "...2"])
        let prediction = Self.labels(["77..", "77.3", "...3"])
        let metrics = ObjectMetrics.compare(truth: truth, prediction: prediction)
        #expect(metrics.truthObjects == 2 && metrics.predictedObjects == 2 && metrics.matched == 2)
        #expect(metrics.f1 == 1 && metrics.aggregatedJaccard == 1 && metrics.panopticQuality == 1)
    }

    /// Two touching nuclei (6 px and 2 px) predicted as one 8 px object: the big one still matches (IoU
    /// 6/8), the small one is missed. F1 = 2·1/(2+1) = 2/3, SQ = 0.75, PQ = 0.5. AJI pairs both truths with
    /// the merged object: (6 + 2) / (8 + 8) = 0.5, where the split prediction scores 1.
    @Test func twoTouchingNucleiPredictedAsOneLowerF1AndAJIByHand() {
        let truth = Self.labels(["1112", "1112"])
        let merged = Self.labels(["5555", "5555"])
        let metrics = ObjectMetrics.compare(truth: truth, prediction: merged)
        #expect(metrics.matched == 1 && metrics.falsePositives == 0 && metrics.falseNegatives == 1)
        #expect(abs(metrics.f1 - 2.0 / 3) < 1e-12)
        #expect(metrics.precision == 1 && metrics.recall == 0.5)
        #expect(metrics.segmentationQuality == 0.75 && abs(metrics.panopticQuality - 0.5) < 1e-12)
        #expect(metrics.ajiIntersection == 8 && metrics.ajiUnion == 16 && metrics.aggregatedJaccard == 0.5)
        let split = ObjectMetrics.compare(truth: truth, prediction: Self.labels(["4449", "4449"]))
        #expect(split.f1 == 1 && split.aggregatedJaccard == 1)
    }

    /// IoU exactly 0.5 is not a match (HoVer-Net's `> 0.5`), a missed object adds its area to AJI's
    /// union, and a false object adds its own.
    @Test func halfOverlapMissesAndFalseObjectsByHand() {
        let truth = Self.labels(["11..", "....", "..2."])
        let prediction = Self.labels(["1...", "...3", "...."])
        let metrics = ObjectMetrics.compare(truth: truth, prediction: prediction)
        #expect(metrics.matched == 0 && metrics.f1 == 0 && metrics.panopticQuality == 0)
        // Truth 1 pairs with prediction 1 (1 of 2 px); truth 2 overlaps nothing (+1); prediction 3 is unpaired (+1).
        #expect(metrics.ajiIntersection == 1 && metrics.ajiUnion == 2 + 1 + 1)
    }

    @Test func scoresPoolOverImages() {
        let a = ObjectMetrics.compare(truth: Self.labels(["1112", "1112"]), prediction: Self.labels(["5555", "5555"]))
        let b = ObjectMetrics.compare(truth: Self.labels(["11"]), prediction: Self.labels(["11"]))
        let pooled = a + b
        #expect(pooled.truthObjects == 3 && pooled.matched == 2 && abs(pooled.f1 - 4.0 / 5) < 1e-12)
        #expect(pooled.ajiIntersection == 10 && pooled.ajiUnion == 18)
    }

    @Test func emptyMapsAgreePerfectly() {
        let metrics = ObjectMetrics.compare(truth: [0, 0], prediction: [0, 0])
        #expect(metrics.f1 == 1 && metrics.aggregatedJaccard == 1)
        let missed = ObjectMetrics.compare(truth: [1, 0], prediction: [0, 0])
        #expect(missed.f1 == 0 && missed.recall == 0 && missed.aggregatedJaccard == 0)
    }

    /// Greedy nearest-first pairing would give p1 to A and leave p2 without a partner; the maximum
    /// matching gives p1 to B and p2 to A.
    @Test func pointMatchingIsOneToOneAndMaximal() {
        let truth = [PointDetection.Point(x: 0, y: 0), .init(x: 2, y: 0)]
        let predicted = [PointDetection.Point(x: 0.9, y: 0), .init(x: -1, y: 0)]
        let result = PointDetection.compare(truth: truth, predicted: predicted, radius: 1.5)
        #expect(result.matched == 2 && result.f1 == 1)
        // Two predictions on one nucleus: one matches, the other is a false detection.
        let doubled = PointDetection.compare(truth: [.init(x: 5, y: 5)], predicted: [.init(x: 5, y: 6), .init(x: 6, y: 5)], radius: 3)
        #expect(doubled.matched == 1 && doubled.precision == 0.5 && doubled.recall == 1 && abs(doubled.f1 - 2.0 / 3) < 1e-12)
        // Out of radius: no match.
        let far = PointDetection.compare(truth: [.init(x: 0, y: 0)], predicted: [.init(x: 3.01, y: 0)], radius: 3)
        #expect(far.matched == 0)
    }
}
