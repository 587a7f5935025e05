import Foundation
import SlideIO
import UNetCore

/// `unet bench --objects WIDTHxHEIGHT`: the object step alone (tracing, splitting touching nuclei,
/// measuring, streaming GeoJSON and CSV) on a synthetic distance map as large as a whole slide, made
/// row by row so that nothing but the object step holds memory. Nuclei sit in clusters of one to three
/// touching ones, one cluster per `spacing`² cell, so the expected count is known and checked.
public struct ObjectStepBenchmark: Sendable {
    public var width: Int
    public var height: Int
    public var spacing = 72

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public struct Result: Codable, Sendable {
        public var width: Int, height: Int
        public var expectedObjects: Int
        public var objects: Int
        public var seconds: Double
        public var megapixelsPerSecond: Double
        public var peakResidentBytes: Int
        public var geojsonBytes: Int

        enum CodingKeys: String, CodingKey {
            case width, height, expectedObjects = "expected_objects", objects, seconds
            case megapixelsPerSecond = "megapixels_per_second", peakResidentBytes = "peak_resident_bytes", geojsonBytes = "geojson_bytes"
        }
    }

    /// One cell's nuclei: centres (cell-relative) and radii, from a hash of the cell, so any row can be made alone.
    func nuclei(cellX: Int, cellY: Int) -> [(x: Double, y: Double, r: Double)] {
        var state = UInt64(truncatingIfNeeded: cellX &* 0x9E37_79B9 ^ cellY &* 0x85EB_CA6B) &+ 0x1234_5678
        func unit() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let count = 1 + Int(unit() * 3) % 3
        let centre = Double(spacing) / 2
        let radius = 5 + unit() * 4
        var list = [(x: centre + (unit() - 0.5) * 8, y: centre + (unit() - 0.5) * 8, r: radius)]
        let angle = unit() * 2 * Double.pi
        for k in 1..<count {  // each touching the first, at 1.5 radii apart (a clear neck)
            let a = angle + Double(k) * 2.2, r = 5 + unit() * 4, d = 0.75 * (radius + r)
            list.append((list[0].x + d * cos(a), list[0].y + d * sin(a), r))
        }
        return list
    }

    /// Runs the object step into `directory` (GeoJSON and CSV, removed afterwards).
    public func run(directory: String) throws(SlideError) -> Result {
        let geojson = directory + "/bench.geojson", table = directory + "/bench.objects.csv"
        let writer = try ObjectWriter(geojsonPath: geojson, tablePath: table,
                                      description: ObjectDescription(className: "Nucleus", minimumArea: 8, separation: .trainedDistanceMap),
                                      scale: PhysicalScale(micronsPerPixelX: 0.5, source: .flag))
        let cellsX = width / spacing, cellsY = height / spacing
        var expected = 0
        for cy in 0..<cellsY { for cx in 0..<cellsX { expected += nuclei(cellX: cx, cellY: cy).count } }
        var probabilities = [Float](repeating: 0, count: width)
        var mask = [UInt8](repeating: 0, count: width)
        let started = ContinuousClock.now
        var cells: [[(x: Double, y: Double, r: Double)]] = []
        var cellRow = -1
        for y in 0..<height {
            let cy = y / spacing
            if cy != cellRow {
                cellRow = cy
                cells = cy < cellsY ? (0..<cellsX).map { nuclei(cellX: $0, cellY: cy) } : []
            }
            for x in 0..<width { probabilities[x] = 0 }
            let py = Double(y - cy * spacing) + 0.5
            for (cx, list) in cells.enumerated() {
                for nucleus in list where abs(py - nucleus.y) < nucleus.r {
                    let half = (nucleus.r * nucleus.r - (py - nucleus.y) * (py - nucleus.y)).squareRoot()
                    let from = max(0, Int((nucleus.x - half).rounded(.down))), to = min(spacing - 1, Int((nucleus.x + half).rounded(.up)))
                    guard from <= to else { continue }
                    for local in from...to {
                        let dx = Double(local) + 0.5 - nucleus.x, dy = py - nucleus.y
                        let d = (dx * dx + dy * dy).squareRoot()
                        guard d < nucleus.r else { continue }
                        let x = cx * spacing + local
                        probabilities[x] = max(probabilities[x], Float(0.6 + 0.4 * (1 - d / nucleus.r)))
                    }
                }
            }
            for x in 0..<width { mask[x] = probabilities[x] >= 0.5 ? 255 : 0 }
            try mask.withUnsafeBufferPointer { (m) throws(SlideError) in
                try probabilities.withUnsafeBufferPointer { (p) throws(SlideError) in try writer.add(mask: m, probabilities: p) }
            }
        }
        try writer.finish()
        let seconds = (ContinuousClock.now - started).seconds
        // The writer is dropped unpublished, which removes its temporary files.
        return Result(width: width, height: height, expectedObjects: expected, objects: writer.count, seconds: seconds,
                      megapixelsPerSecond: Double(width * height) / 1e6 / seconds, peakResidentBytes: ProcessMemory.peakResidentBytes,
                      geojsonBytes: writer.geojsonBytes)
    }
}
