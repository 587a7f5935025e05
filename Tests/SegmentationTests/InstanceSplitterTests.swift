import Foundation
import TestSupport
import Testing
import UNetCore
@testable import Segmentation

/// Touching nuclei split into one object each, the same whether the region arrives row by row
/// (`ObjectTracer`, as on a slide) or whole (`InstanceLabeler`, as in evaluation).
@Suite struct InstanceSplitterTests {
    /// Two discs of radius `r` whose centres are `gap` apart, in a `width × height` probability map
    /// shaped like an instance model's output: 0.5 at a disc's edge rising to 1 at its centre.
    static func twoDiscs(width: Int = 40, height: Int = 24, r: Double = 7, gap: Double = 12) -> [Float] {
        let centres = [(Double(width) / 2 - gap / 2, Double(height) / 2), (Double(width) / 2 + gap / 2, Double(height) / 2)]
        var map = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                for (cx, cy) in centres {
                    let d = ((Double(x) + 0.5 - cx) * (Double(x) + 0.5 - cx) + (Double(y) + 0.5 - cy) * (Double(y) + 0.5 - cy)).squareRoot()
                    if d < r { map[y * width + x] = max(map[y * width + x], Float(0.5 + 0.5 * (1 - d / r))) }
                }
            }
        }
        return map
    }

    @Test func distanceTransformIsEuclidean() {
        // A 5×5 square: the centre is 3 px from the outside (the box's edge counts as background).
        let mask = [Bool](repeating: true, count: 25)
        let distance = DistanceTransform.euclidean(mask, width: 5, height: 5)
        #expect(distance[12] == 3 && distance[0] == 1 && distance[6] == 2)
        let hole = (0..<25).map { $0 != 12 }
        #expect(DistanceTransform.euclidean(hole, width: 5, height: 5)[13] == 1)
        #expect(abs(DistanceTransform.euclidean(hole, width: 5, height: 5)[18] - Float(2).squareRoot()) < 1e-6)
    }

    @Test func touchingDiscsSplitIntoTwoAndAloneStaysOne() {
        let map = Self.twoDiscs()
        let mask = map.map { $0 >= 0.5 }
        let components = InstanceLabeler.labels(probabilities: map, width: 40, height: 24, threshold: 0.5, separation: .components)
        #expect(Set(components).subtracting([0]).count == 1, "the discs overlap: one region")
        for separation in [ObjectSeparation.trainedDistanceMap, .splitTouching] {
            let labels = InstanceLabeler.labels(probabilities: map, width: 40, height: 24, threshold: 0.5, separation: separation)
            #expect(Set(labels).subtracting([0]).count == 2, "\(separation)")
            #expect(zip(labels, mask).allSatisfy { ($0 != 0) == $1 }, "the objects tile the region")
            // Each disc's centre pixel belongs to a different object; the split runs down the middle.
            #expect(labels[12 * 40 + 14] != labels[12 * 40 + 25])
            #expect(labels[12 * 40 + 18] == labels[12 * 40 + 14] && labels[12 * 40 + 21] == labels[12 * 40 + 25])
        }
        let alone = Self.twoDiscs(gap: 0)
        let one = InstanceLabeler.labels(probabilities: alone, width: 40, height: 24, threshold: 0.5, separation: .splitTouching)
        #expect(Set(one).subtracting([0]).count == 1)
    }

    /// A shallow dent is not a saddle: discs overlapping so much that each peak stands less than the
    /// dynamic above the neck stay one object.
    @Test func peaksBelowTheDynamicMerge() {
        let map = Self.twoDiscs(gap: 3)
        let labels = InstanceLabeler.labels(probabilities: map, width: 40, height: 24, threshold: 0.5, separation: .distanceMap(dynamic: 0.15))
        #expect(Set(labels).subtracting([0]).count == 1)
        let fine = InstanceLabeler.labels(probabilities: map, width: 40, height: 24, threshold: 0.5, separation: .distanceMap(dynamic: 0.01))
        #expect(Set(fine).subtracting([0]).count == 2)
    }

    /// Random blobs of touching discs: the tracer, fed row by row, gives exactly the labeler's objects,
    /// and its outlines rasterise back to them pixel for pixel.
    @Test(arguments: [1, 2, 3, 4])
    func rowByRowEqualsWholeImage(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let width = 64, height = 48
        var map = [Float](repeating: 0, count: width * height)
        for _ in 0..<14 {
            let cx = random.unit() * Double(width), cy = random.unit() * Double(height), r = 3 + random.unit() * 6
            for y in 0..<height {
                for x in 0..<width {
                    let d = ((Double(x) + 0.5 - cx) * (Double(x) + 0.5 - cx) + (Double(y) + 0.5 - cy) * (Double(y) + 0.5 - cy)).squareRoot()
                    if d < r { map[y * width + x] = max(map[y * width + x], Float(0.5 + 0.5 * (1 - d / r))) }
                }
            }
        }
        for separation in [ObjectSeparation.trainedDistanceMap, .splitTouching, .components] {
            let labels = InstanceLabeler.labels(probabilities: map, width: width, height: height, threshold: 0.5, separation: separation)
            var tracer = ObjectTracer()
            tracer.separation = separation
            var objects: [TracedObject] = []
            for y in 0..<height {
                let row = Array(map[(y * width)..<((y + 1) * width)])
                let bytes = row.map { $0 >= 0.5 ? UInt8(255) : 0 }
                try bytes.withUnsafeBufferPointer { bytes in
                    try row.withUnsafeBufferPointer { values in try tracer.add(mask: bytes, probabilities: values) { objects.append($0) } }
                }
            }
            try tracer.finish { objects.append($0) }
            #expect(objects.count == Set(labels).subtracting([0]).count, "\(separation)")
            // Each traced object, rasterised, is exactly one label's pixels.
            var pixelsByLabel: [Int32: Set<Int>] = [:]
            for (index, label) in labels.enumerated() where label != 0 { pixelsByLabel[label, default: []].insert(index) }
            let expected = Set(pixelsByLabel.values)
            let traced = Set(objects.map { object in
                let raster = ObjectTracerTests.rasterise([object], width: width, height: height)
                return Set((0..<(width * height)).filter { raster[$0 / width][$0 % width] })
            })
            #expect(traced == expected, "\(separation)")
            #expect(objects.map(\.area).sorted() == expected.map(\.count).sorted())
            try ObjectTracerTests.expectValid(objects)
        }
    }

    /// A region larger than the split limit keeps no pixels: it comes out whole and is counted, so a
    /// mask gone wrong cannot hold a slide's worth of pixels.
    @Test func regionsOverTheSplitLimitComeOutWholeAndCounted() throws {
        let map = Self.twoDiscs()
        var tracer = ObjectTracer()
        tracer.separation = .trainedDistanceMap
        tracer.maximumSplitArea = 100
        var objects: [TracedObject] = []
        for y in 0..<24 {
            let row = Array(map[(y * 40)..<((y + 1) * 40)]), bytes = row.map { $0 >= 0.5 ? UInt8(255) : 0 }
            try bytes.withUnsafeBufferPointer { bytes in
                try row.withUnsafeBufferPointer { values in try tracer.add(mask: bytes, probabilities: values) { objects.append($0) } }
            }
        }
        try tracer.finish { objects.append($0) }
        #expect(objects.count == 1 && tracer.unsplitLargeRegions == 1 && objects[0].area == map.filter { $0 >= 0.5 }.count)
    }

    /// The synthetic slide of `unet bench --objects`: every cluster of touching nuclei comes out as its
    /// nuclei, and nothing is left in the directory.
    @Test func syntheticClustersComeOutAsTheirNuclei() throws {
        let directory = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try ObjectStepBenchmark(width: 720, height: 432).run(directory: directory)
        #expect(result.expectedObjects > 60 && result.objects == result.expectedObjects, "\(result.objects) of \(result.expectedObjects)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
