import Foundation
import TestSupport
import Testing
import UNetCore

/// Shape, stain and summary measurements against values worked out by hand.
@Suite struct MeasurementTests {
    /// A closed ring through `points`, counter-clockwise by the shoelace sign as `ObjectOutline` writes outer rings.
    static func ring(_ points: [SIMD2<Double>]) -> [SIMD2<Double>] { points + [points[0]] }

    static func ellipse(a: Double, b: Double, centre: SIMD2<Double> = [500, 700], points: Int = 3600) -> [SIMD2<Double>] {
        ring((0..<points).map { i in
            let t = 2 * Double.pi * Double(i) / Double(points)
            return centre + SIMD2(a * cos(t), b * sin(t))
        })
    }

    @Test func aSquareByHand() {
        let shape = ShapeMeasures(rings: [Self.ring([[10, 10], [14, 10], [14, 14], [10, 14]])])
        #expect(shape.area == 16 && shape.perimeter == 16)
        #expect(abs(shape.circularity - Double.pi / 4) < 1e-12)
        #expect(shape.solidity == 1 && shape.eccentricity == 0)
        #expect(abs(shape.maximumCaliper - 4 * 2.0.squareRoot()) < 1e-12 && abs(shape.minimumCaliper - 4) < 1e-12)
    }

    /// A disc of radius 10 as a 3,600-gon: area πr², perimeter 2πr, circularity 1, both calipers 2r, eccentricity 0.
    @Test func aDiscByHand() {
        let shape = ShapeMeasures(rings: [Self.ellipse(a: 10, b: 10)])
        #expect(abs(shape.area - 100 * Double.pi) < 1e-3)
        #expect(abs(shape.perimeter - 20 * Double.pi) < 1e-3)
        #expect(abs(shape.circularity - 1) < 1e-5 && abs(shape.solidity - 1) < 1e-9)
        #expect(abs(shape.maximumCaliper - 20) < 1e-6 && abs(shape.minimumCaliper - 20) < 1e-4)
        #expect(shape.eccentricity < 1e-3)
    }

    /// An ellipse with semi-axes 10 and 5: area 50π, calipers 20 and 10, eccentricity √(1 − 5²/10²) = √0.75.
    @Test func anEllipseByHand() {
        let shape = ShapeMeasures(rings: [Self.ellipse(a: 10, b: 5)])
        #expect(abs(shape.area - 50 * Double.pi) < 1e-3)
        #expect(abs(shape.maximumCaliper - 20) < 1e-6 && abs(shape.minimumCaliper - 10) < 1e-4)
        #expect(abs(shape.eccentricity - 0.75.squareRoot()) < 1e-4)
        // Rotation changes nothing.
        let turned = Self.ellipse(a: 10, b: 5).map { SIMD2(0.6 * $0.x - 0.8 * $0.y, 0.8 * $0.x + 0.6 * $0.y) }
        let rotated = ShapeMeasures(rings: [turned])
        #expect(abs(rotated.eccentricity - shape.eccentricity) < 1e-9 && abs(rotated.minimumCaliper - 10) < 1e-4)
    }

    /// An L of three unit squares: area 3; its hull cuts one corner off a 2 × 2 square (area 3.5), so solidity 6/7.
    @Test func aConcaveShapeHasSolidityBelowOne() {
        let shape = ShapeMeasures(rings: [Self.ring([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]])])
        #expect(shape.area == 3 && shape.perimeter == 8)
        #expect(abs(shape.solidity - 6.0 / 7) < 1e-12)
        #expect(abs(shape.maximumCaliper - 8.0.squareRoot()) < 1e-12)
    }

    /// A 4 × 4 square with a clockwise 2 × 2 hole: area 12, perimeter 16 + 8; the hull is the square's.
    @Test func holesSubtractFromAreaAndAddToPerimeter() {
        let outer = Self.ring([[0, 0], [4, 0], [4, 4], [0, 4]]), hole = Self.ring([[1, 1], [1, 3], [3, 3], [3, 1]])
        let shape = ShapeMeasures(rings: [outer, hole])
        #expect(shape.area == 12 && shape.perimeter == 24 && shape.solidity == 0.75)
    }

    /// A patch dyed with hematoxylin alone, at a known OD, deconvolves to that OD and no eosin (within 8-bit rounding).
    @Test func aKnownODPatchDeconvolvesToItsStain() {
        let vectors = StainVectors.standard()
        let deconvolution = StainDeconvolution(vectors: vectors)
        for (amount, stain) in [(0.5, vectors.hematoxylinVector), (1.0, vectors.hematoxylinVector), (0.3, vectors.eosinVector)] {
            let level = (0..<3).map { UInt8((255 * pow(10, -amount * stain[$0])).rounded()) }
            let found = deconvolution.stains(red: level[0], green: level[1], blue: level[2])
            let (own, other) = stain == vectors.hematoxylinVector ? (found.x, found.y) : (found.y, found.x)
            #expect(abs(Double(own) - amount) < 0.01, "\(amount): \(found)")
            #expect(abs(other) < 0.01)
        }
        #expect(deconvolution.stains(red: 255, green: 255, blue: 255) == .zero)
    }

    /// Pixels mixed from two known stains (10° off the standard ones) give those stains back.
    @Test func macenkoRecoversTheStainsOfASyntheticSlide() {
        func turned(_ v: SIMD3<Double>, degrees: Double) -> SIMD3<Double> {  // about the blue axis
            let a = degrees * .pi / 180
            return SIMD3(v.x * cos(a) - v.y * sin(a), v.x * sin(a) + v.y * cos(a), v.z)
        }
        let h = turned(StainVectors.standardHematoxylin, degrees: -8), e = turned(StainVectors.standardEosin, degrees: 6)
        let unitH = h / (h * h).sum().squareRoot(), unitE = e / (e * e).sum().squareRoot()
        var random = SeededGenerator(seed: TestSeed.value)  // replay a failure with UNET_TEST_SEED
        var rgb: [UInt8] = []
        for i in 0..<30_000 {  // nuclei (hematoxylin alone), stroma (eosin alone, dark enough to pass β) and mixtures
            let hAmount = i % 3 == 1 ? 0 : Double.random(in: 0.3...1.2, using: &random)
            let eAmount = i % 3 == 0 ? 0 : Double.random(in: 0.8...1.5, using: &random)
            let od = unitH * hAmount + unitE * eAmount
            rgb += (0..<3).map { UInt8((255 * pow(10, -od[$0])).rounded()) }
        }
        let found = StainVectors.macenko(rgb: rgb)
        #expect(found.source == .macenko)
        func degrees(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { acos(min(1, (a * b).sum())) * 180 / .pi }
        #expect(degrees(found.hematoxylinVector, unitH) < 3, "\(found)")
        #expect(degrees(found.eosinVector, unitE) < 3, "\(found)")
    }

    @Test func macenkoFallsBackToTheStandardVectorsWhenTheSampleIsNotH_E() {
        let glass = [UInt8](repeating: 240, count: 3 * 5_000)
        #expect(StainVectors.macenko(rgb: glass).source == .standard)
        var green: [UInt8] = []  // a green and a yellow dye: far from hematoxylin and eosin
        for i in 0..<5_000 { green += i % 2 == 0 ? [200, 60, 200] : [40, 40, 200] }
        let estimate = StainVectors.macenko(rgb: green)
        #expect(estimate.source == .standard && estimate.fallbackReason != nil)
        #expect(estimate.hematoxylinVector == StainVectors.standard().hematoxylinVector)
    }

    @Test func binnedQuantilesAreWithinOneBinOfTheExactOnes() {
        var quantiles = BinnedQuantiles(lower: 0, upper: 1000, binWidth: 0.25)
        for value in 1...99 { quantiles.add(Double(value)) }
        #expect(abs(quantiles.quantile(0.5)! - 50) <= 0.25)
        #expect(abs(quantiles.quantile(0.25)! - 25) <= 1 && abs(quantiles.quantile(0.75)! - 75) <= 1)
        #expect(BinnedQuantiles(lower: 0, upper: 1, binWidth: 0.1).quantile(0.5) == nil)
    }

    /// Four nuclei of 5, 15, 15 and 250 µm² over 0.02 mm² of tissue: 200 per mm², histogram bins 0, 1, 1... and the last.
    @Test func aSlideSummaryByHand() {
        var accumulator = NucleusSummary.Accumulator()
        for (area, h) in [(5.0, 0.2), (15, 0.4), (15, 0.6), (250, 0.8)] {
            accumulator.add(areaPixels: area * 4, areaMicrons: area, circularity: 0.9, hematoxylinMean: h)
        }
        let summary = accumulator.summary(tissueAreaMM2: 0.02)
        #expect(summary.nuclei == 4 && summary.nucleiPerMM2 == 200)
        #expect(summary.areaHistogram!.counts[0] == 1 && summary.areaHistogram!.counts[1] == 2 && summary.areaHistogram!.counts.last == 1)
        #expect(summary.areaHistogram!.counts.reduce(0, +) == 4)
        #expect(abs(summary.areaMicrons!.median - 15) <= 0.25 && abs(summary.circularity!.median - 0.9) <= 0.001)
        #expect(abs(summary.hematoxylinOD!.median - 0.4) <= 0.001 + 1e-9)
        let withoutScale = NucleusSummary.Accumulator().summary(tissueAreaMM2: nil)
        #expect(withoutScale.nuclei == 0 && withoutScale.areaMicrons == nil && withoutScale.nucleiPerMM2 == nil)
    }
}
