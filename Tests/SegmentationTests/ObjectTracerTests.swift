import TestSupport
import Testing
import UNetCore
@testable import Segmentation

/// Objects traced from masks fed row by row: rasterised again they are the mask, one per 4-connected
/// region, with valid rings (holes inside, no ring touching itself or another).
@Suite struct ObjectTracerTests {
    /// Traces a mask given as rows of "#" (foreground) and "." (background).
    static func trace(_ rows: [String], probability: Float = 0.75) throws -> [TracedObject] {
        try trace(rows.map { $0.map { $0 == "#" } })
    }

    static func trace(_ mask: [[Bool]], probability: Float = 0.75) throws -> [TracedObject] {
        var tracer = ObjectTracer()
        var objects: [TracedObject] = []
        for row in mask {
            let bytes = row.map { $0 ? UInt8(255) : 0 }
            let values = [Float](repeating: probability, count: row.count)
            try bytes.withUnsafeBufferPointer { bytes in
                try values.withUnsafeBufferPointer { values in
                    try tracer.add(mask: bytes, probabilities: values) { objects.append($0) }
                }
            }
        }
        try tracer.finish { objects.append($0) }
        return objects
    }

    @Test func ringWithAHoleIsOnePolygonWithAnInnerRing() throws {
        let objects = try Self.trace([
            ".....",
            ".###.",
            ".#.#.",
            ".###.",
            ".....",
        ])
        #expect(objects.count == 1)
        let object = try #require(objects.first)
        #expect(object.area == 8 && object.rings.count == 2)
        #expect(object.boundingBox == (1, 1, 3, 3))
        #expect(object.centroidX == 2.5 && object.centroidY == 2.5 && object.meanProbability == 0.75)
        // Corners cut half a pixel: the 3×3 square an octagon, the one-pixel hole a diamond (both closed).
        #expect(ObjectOutline.signedArea(object.rings[0]) == 2 * (9 - 4 * 0.125) && ObjectOutline.signedArea(object.rings[1]) == -2 * 0.5)
        #expect(object.rings[0].count == 9 && object.rings[1].count == 5)
        #expect(abs(object.perimeter - (4 * 2 + 4 * 0.5.squareRoot() + 4 * 0.5.squareRoot())) < 1e-12)
    }

    @Test func diagonalNeighboursAreSeparateObjects() throws {
        let mask = ["#.", ".#"].map { $0.map { $0 == "#" } }
        let objects = try Self.trace(mask)
        #expect(objects.count == 2)
        #expect(Self.rasterise(objects, width: 2, height: 2) == mask)
        try Self.expectValid(objects)
    }

    @Test func aRegionTouchingItselfAtACornerIsCutApartThere() throws {
        // The gap at (1, 1) meets the outside at the corner (2, 2): background joins across it (foreground
        // is 4-connected), so there is no hole, and the cut keeps the outer ring from passing (2, 2) twice.
        let rows = [
            "###.",
            "#.#.",
            "##.#",
            "...#",
        ]
        let objects = try Self.traceExpectingRoundTrip(rows)
        #expect(objects.first { $0.area == 7 }!.rings.count == 1)
    }

    @Test func aStaircaseBecomesOneStraightEdge() throws {
        // A right triangle of pixels: its stepped side is one segment, every vertex on the traced contour.
        let rows = (0..<8).map { y in String(repeating: "#", count: y + 1) + String(repeating: ".", count: 7 - y) }
        let objects = try Self.traceExpectingRoundTrip(rows)
        #expect(objects.count == 1 && objects[0].area == 36)
        #expect(objects[0].rings[0].count <= 7, "\(objects[0].rings[0])")
    }

    @Test func armsJoiningLowerDownMergeIntoOneObject() throws {
        let rows = [
            "#...#..#",
            "#...#..#",
            "#.#.#..#",
            "#####..#",
            "......##",
        ]
        let objects = try Self.traceExpectingRoundTrip(rows)
        #expect(objects.map(\.area).sorted() == [6, 12])
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func randomMasksRasteriseBackExactly(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let width = 23, height = 17
        let density = [0.3, 0.5, 0.7][Int(seed % 3)]
        let mask = (0..<height).map { _ in (0..<width).map { _ in random.unit() < density } }
        let objects = try Self.trace(mask)
        #expect(Self.rasterise(objects, width: width, height: height) == mask)
        #expect(objects.count == Self.componentCount(mask))
        #expect(objects.map(\.area).reduce(0, +) == mask.joined().filter { $0 }.count)
        for object in objects { #expect(Self.rasterise([object], width: width, height: height).joined().filter { $0 }.count == object.area) }
        try Self.expectValid(objects)
    }

    // MARK: helpers shared with the segmentation tests

    /// Traces `rows` and expects the objects to rasterise back to them and to be valid polygons.
    static func traceExpectingRoundTrip(_ rows: [String]) throws -> [TracedObject] {
        let objects = try trace(rows)
        let mask = rows.map { $0.map { $0 == "#" } }
        #expect(rasterise(objects, width: mask[0].count, height: mask.count) == mask)
        try expectValid(objects)
        return objects
    }

    /// Pixels whose centre lies inside the rings (even-odd over every ring of every object).
    static func rasterise(_ objects: [TracedObject], width: Int, height: Int) -> [[Bool]] {
        rasterise(rings: objects.flatMap { $0.rings.map { $0.map { ($0.x, $0.y) } } }, width: width, height: height)
    }

    static func rasterise(rings: [[(Double, Double)]], width: Int, height: Int) -> [[Bool]] {
        var mask = [[Bool]](repeating: [Bool](repeating: false, count: width), count: height)
        for y in 0..<height {
            let centre = Double(y) + 0.5
            var crossings: [Double] = []
            for ring in rings {
                for (a, b) in zip(ring, ring.dropFirst()) where (a.1 <= centre) != (b.1 <= centre) {
                    crossings.append(a.0 + (centre - a.1) * (b.0 - a.0) / (b.1 - a.1))
                }
            }
            crossings.sort()
            for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                for x in 0..<width where Double(x) + 0.5 > crossings[pair] && Double(x) + 0.5 < crossings[pair + 1] { mask[y][x] = true }
            }
        }
        return mask
    }

    /// 4-connected components by flood fill, the reference for the streaming union-find.
    static func componentCount(_ mask: [[Bool]]) -> Int {
        var seen = mask.map { $0.map { _ in false } }
        var count = 0
        for y in mask.indices {
            for x in mask[y].indices where mask[y][x] && !seen[y][x] {
                count += 1
                var stack = [(x, y)]
                seen[y][x] = true
                while let (px, py) = stack.popLast() {
                    for (nx, ny) in [(px - 1, py), (px + 1, py), (px, py - 1), (px, py + 1)]
                    where ny >= 0 && ny < mask.count && nx >= 0 && nx < mask[ny].count && mask[ny][nx] && !seen[ny][nx] {
                        seen[ny][nx] = true
                        stack.append((nx, ny))
                    }
                }
            }
        }
        return count
    }

    /// Each object a valid polygon: every ring closed, the outer ring first, and no two segments meeting
    /// except neighbours in a ring at their shared end. (Different objects may touch at a corner.)
    static func expectValid(_ objects: [TracedObject]) throws {
        for object in objects { try expectValid(object) }
    }

    static func expectValid(_ object: TracedObject) throws {
        var segments: [(a: TracedObject.Point, b: TracedObject.Point, ring: Int, index: Int, count: Int)] = []
        for (ringNumber, ring) in object.rings.enumerated() {
            #expect(ring.first == ring.last && ring.count >= 4)
            for i in 0..<(ring.count - 1) { segments.append((ring[i], ring[i + 1], ringNumber, i, ring.count - 1)) }
        }
        #expect(ObjectOutline.signedArea(object.rings[0]) > 0)
        #expect(object.rings.dropFirst().allSatisfy { ObjectOutline.signedArea($0) < 0 })
        for i in segments.indices {
            for j in (i + 1)..<segments.count {
                let s = segments[i], t = segments[j]
                let neighbours = s.ring == t.ring && ((s.index + 1) % s.count == t.index || (t.index + 1) % t.count == s.index)
                if neighbours { continue }
                #expect(!intersect(s.a, s.b, t.a, t.b), "segments \(s.a)–\(s.b) and \(t.a)–\(t.b) meet")
            }
        }
    }

    private static func intersect(_ p1: TracedObject.Point, _ p2: TracedObject.Point, _ q1: TracedObject.Point, _ q2: TracedObject.Point) -> Bool {
        func orientation(_ a: TracedObject.Point, _ b: TracedObject.Point, _ c: TracedObject.Point) -> Double {
            let cross = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)  // exact: coordinates are multiples of 1/4
            return cross < 0 ? -1 : cross > 0 ? 1 : 0
        }
        func onSegment(_ a: TracedObject.Point, _ b: TracedObject.Point, _ c: TracedObject.Point) -> Bool {
            min(a.x, b.x) <= c.x && c.x <= max(a.x, b.x) && min(a.y, b.y) <= c.y && c.y <= max(a.y, b.y)
        }
        let d1 = orientation(q1, q2, p1), d2 = orientation(q1, q2, p2), d3 = orientation(p1, p2, q1), d4 = orientation(p1, p2, q2)
        if d1 * d2 < 0 && d3 * d4 < 0 { return true }
        return (d1 == 0 && onSegment(q1, q2, p1)) || (d2 == 0 && onSegment(q1, q2, p2))
            || (d3 == 0 && onSegment(p1, p2, q1)) || (d4 == 0 && onSegment(p1, p2, q2))
    }
}
