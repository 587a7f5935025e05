import SlideIO
import UNetCore

/// Finds the connected foreground regions (4-connected) of a mask fed row by row, measures them and
/// outlines them, handing each one out as soon as no later row can touch it. Memory grows with the
/// width of a row and the outline length of the regions still open, never with the slide's area.
///
/// Rows become runs of foreground pixels; runs that share a column with a run of the row above join its
/// region (union-find, so regions that meet lower down merge). Each region collects the pixel-crack
/// edges around it, directed with the foreground on the right (in image coordinates, y down), which
/// `ObjectOutline` links into rings once the region is complete.
///
/// With a splitting `separation`, each region also keeps its pixels (runs and probabilities) until it
/// closes, and is then split into nuclei by `InstanceSplitter`, which sees the whole region and nothing
/// else: however the slide was cut into bands and tiles, a nucleus comes out once and whole. A region
/// larger than `maximumSplitArea` (a mask gone wrong, not a nucleus cluster) stops keeping its pixels
/// and comes out whole, so memory stays bounded.
struct ObjectTracer {
    var separation: ObjectSeparation = .components
    var maximumSplitArea = 1 << 20
    /// Regions too large to split so far (result.json counts them).
    private(set) var unsplitLargeRegions = 0
    /// Whether split objects carry `splitBoundary` (the overlay draws it; the object files need not).
    var recordsSplitBoundaries = false

    /// A run of foreground pixels `[start, end)` in one row, and the region it belongs to.
    private struct Run {
        var start: Int32
        var end: Int32
        var region: Region
    }

    private var previous: [Run] = []
    private var nextRow = 0

    /// Adds row `y` (rows must come in order): `mask` non-zero marks foreground; `probabilities` feed the
    /// mean; `stains` (hematoxylin and eosin OD per pixel), when given, feed each object's `stain`.
    mutating func add(mask: UnsafeBufferPointer<UInt8>, probabilities: UnsafeBufferPointer<Float>,
                      stains: UnsafeBufferPointer<SIMD2<Float>>? = nil,
                      emit: (TracedObject) throws(SlideError) -> Void) throws(SlideError) {
        let y = Int32(nextRow)
        var current: [Run] = []
        var x = 0
        while x < mask.count {
            guard mask[x] != 0 else { x += 1; continue }
            let start = x
            var probabilitySum = 0.0
            var stain = StainStatistics()
            while x < mask.count && mask[x] != 0 {
                probabilitySum += Double(probabilities[x])
                if let stains { stain.add(stains[x]) }
                x += 1
            }
            var region: Region?
            for above in Self.overlapping(previous, start: Int32(start), end: Int32(x)) {
                let other = above.region.root
                region = region.map { Region.union($0, other) } ?? other
            }
            let root = region ?? Region(keepsPixels: separation.splits)
            root.addRun(start: start, end: x, row: Int(y), probabilitySum: probabilitySum, stain: stain)
            if root.keepsPixels {
                if root.area <= maximumSplitArea {
                    root.pixels.append(PixelRun(row: y, start: Int32(start), end: Int32(x)))
                    root.values.append(contentsOf: probabilities[start..<x])
                    if let stains { root.stainValues.append(contentsOf: stains[start..<x]) }
                } else {
                    root.dropPixels()
                    unsplitLargeRegions += 1
                }
            }
            current.append(Run(start: Int32(start), end: Int32(x), region: root))
        }
        for run in current {
            let region = run.region.root
            region.edges.append(Edge(x0: run.start, y0: y + 1, x1: run.start, y1: y))  // left side, upwards
            region.edges.append(Edge(x0: run.end, y0: y, x1: run.end, y1: y + 1))      // right side, downwards
            for (a, b) in Self.uncovered(run, by: previous) { region.edges.append(Edge(x0: a, y0: y, x1: b, y1: y)) }  // tops
        }
        try close(previous, under: current, line: y, emit: emit)
        previous = current
        nextRow += 1
    }

    /// Closes the last row's regions once every row has been added.
    mutating func finish(emit: (TracedObject) throws(SlideError) -> Void) throws(SlideError) {
        try close(previous, under: [], line: Int32(nextRow), emit: emit)
        previous = []
    }

    /// Gives the bottoms of `above` not covered by `below` their edges on `line`, then hands out every region
    /// of `above` that no run of `below` continues.
    private func close(_ above: [Run], under below: [Run], line: Int32, emit: (TracedObject) throws(SlideError) -> Void) throws(SlideError) {
        let splitter = InstanceSplitter(separation: separation)
        for run in above {
            for (a, b) in Self.uncovered(run, by: below) { run.region.root.edges.append(Edge(x0: b, y0: line, x1: a, y1: line)) }
        }
        for run in above {
            let region = run.region.root
            guard region.lastRow < Int(line), !region.emitted else { continue }
            region.emitted = true
            if region.keepsPixels && region.area > 1 {
                for piece in region.split(by: splitter, boundaries: recordsSplitBoundaries) { try emit(piece) }
            } else {
                try emit(region.traced())
            }
        }
    }

    /// The runs of `others` (sorted, disjoint) sharing at least one column with `[start, end)`.
    private static func overlapping(_ others: [Run], start: Int32, end: Int32) -> ArraySlice<Run> {
        var low = 0, high = others.count
        while low < high {  // first run ending after `start`
            let middle = (low + high) / 2
            if others[middle].end <= start { low = middle + 1 } else { high = middle }
        }
        var last = low
        while last < others.count && others[last].start < end { last += 1 }
        return others[low..<last]
    }

    /// The parts of `run` no run of `others` covers.
    private static func uncovered(_ run: Run, by others: [Run]) -> [(Int32, Int32)] {
        var parts: [(Int32, Int32)] = []
        var cursor = run.start
        for other in overlapping(others, start: run.start, end: run.end) {
            if other.start > cursor { parts.append((cursor, other.start)) }
            cursor = max(cursor, other.end)
        }
        if cursor < run.end { parts.append((cursor, run.end)) }
        return parts
    }
}

/// A directed pixel-crack edge from (x0, y0) to (x1, y1), horizontal or vertical.
struct Edge {
    var x0: Int32, y0: Int32, x1: Int32, y1: Int32
}

/// Foreground pixels `[start, end)` of one row of a region.
struct PixelRun {
    var row: Int32, start: Int32, end: Int32
}

/// One region while it is still open: its measurements so far and its edges (union-find node), and,
/// when it is to be split, its pixels.
private final class Region {
    var parent: Region?
    var area = 0
    var sumX = 0.0, sumY = 0.0, probabilitySum = 0.0
    var minX = Int.max, minY = Int.max, maxX = Int.min, maxY = Int.min
    var lastRow = -1
    var emitted = false
    var edges: [Edge] = []
    /// Stain statistics (empty unless rows came with stains).
    var stain = StainStatistics()
    private(set) var keepsPixels: Bool
    var pixels: [PixelRun] = []
    /// Probabilities of `pixels`' pixels, run after run, and their stains when rows came with them.
    var values: [Float] = []
    var stainValues: [SIMD2<Float>] = []

    init(keepsPixels: Bool) { self.keepsPixels = keepsPixels }

    func dropPixels() {
        keepsPixels = false
        pixels = []
        values = []
        stainValues = []
    }

    var root: Region {
        guard let parent else { return self }
        let root = parent.root
        self.parent = root  // path compression
        return root
    }

    func addRun(start: Int, end: Int, row: Int, probabilitySum: Double, stain runStain: StainStatistics) {
        let count = end - start
        stain.merge(runStain)
        area += count
        sumX += Double(count) * Double(start + end) / 2  // pixel centres start + 0.5 ... end - 0.5
        sumY += Double(count) * (Double(row) + 0.5)
        self.probabilitySum += probabilitySum
        minX = min(minX, start); maxX = max(maxX, end - 1)
        minY = min(minY, row); maxY = max(maxY, row)
        lastRow = row
    }

    /// Merges two roots; the one with more edges absorbs the other (so edges are copied the fewest times).
    static func union(_ a: Region, _ b: Region) -> Region {
        guard a !== b else { return a }
        let (kept, absorbed) = a.edges.count >= b.edges.count ? (a, b) : (b, a)
        kept.area += absorbed.area
        kept.sumX += absorbed.sumX; kept.sumY += absorbed.sumY
        kept.probabilitySum += absorbed.probabilitySum
        kept.stain.merge(absorbed.stain)
        kept.minX = min(kept.minX, absorbed.minX); kept.maxX = max(kept.maxX, absorbed.maxX)
        kept.minY = min(kept.minY, absorbed.minY); kept.maxY = max(kept.maxY, absorbed.maxY)
        kept.lastRow = max(kept.lastRow, absorbed.lastRow)
        kept.edges += absorbed.edges
        absorbed.edges = []
        if kept.keepsPixels && absorbed.keepsPixels {
            kept.pixels += absorbed.pixels
            kept.values += absorbed.values
            kept.stainValues += absorbed.stainValues
        } else if kept.keepsPixels {
            kept.dropPixels()
        }
        absorbed.dropPixels()
        absorbed.parent = kept
        return kept
    }

    /// The region as nuclei: its pixels in its bounding box, split, each piece outlined on its own.
    func split(by splitter: InstanceSplitter, boundaries: Bool) -> [TracedObject] {
        let width = maxX - minX + 1, height = maxY - minY + 1
        var mask = [Bool](repeating: false, count: width * height)
        var probabilities = [Float](repeating: 0, count: width * height)
        let hasStains = stain.count > 0
        var stains = [SIMD2<Float>](repeating: .zero, count: hasStains ? width * height : 0)
        var next = 0
        for run in pixels {
            let offset = (Int(run.row) - minY) * width - minX
            for x in Int(run.start)..<Int(run.end) {
                mask[offset + x] = true
                probabilities[offset + x] = values[next]
                if hasStains { stains[offset + x] = stainValues[next] }
                next += 1
            }
        }
        let (labels, count) = splitter.split(mask: mask, probabilities: probabilities, width: width, height: height)
        guard count > 1 else { return [traced()] }
        edges = []
        dropPixels()
        return TracedObject.pieces(labels: labels, count: count, probabilities: probabilities, stains: hasStains ? stains : nil,
                                   box: (minX, minY, width, height), boundaries: boundaries)
    }

    func traced() -> TracedObject {
        let rings = ObjectOutline.rings(edges)
        edges = []
        return TracedObject(area: area, centroidX: sumX / Double(area), centroidY: sumY / Double(area),
                            meanProbability: probabilitySum / Double(area),
                            boundingBox: (minX, minY, maxX - minX + 1, maxY - minY + 1), rings: rings,
                            stain: stain.count > 0 ? stain : nil)
    }
}

/// A finished region in level-0 pixel coordinates (pixel (x, y) covers the square (x, y)–(x+1, y+1)).
struct TracedObject {
    var area: Int
    var centroidX: Double
    var centroidY: Double
    var meanProbability: Double
    var boundingBox: (x: Int, y: Int, width: Int, height: Int)
    /// Closed rings (first point repeated last): the outer boundary first (counter-clockwise by the
    /// shoelace sign, as RFC 7946 asks), then the holes (clockwise).
    var rings: [[Point]]
    /// Hematoxylin and eosin OD statistics of its pixels, when the tracer was given stains.
    var stain: StainStatistics?
    /// Of a region split into nuclei: this object's pixels that touch another of them (4-neighbours),
    /// level-0 x, y; empty unless asked for.
    var splitBoundary: [SIMD2<Int32>] = []

    struct Point: Equatable {
        var x: Double
        var y: Double
    }

    /// Length of every ring, outer and holes, in pixels.
    var perimeter: Double {
        rings.reduce(0) { total, ring in
            zip(ring, ring.dropFirst()).reduce(total) { sum, pair in
                let dx = pair.1.x - pair.0.x, dy = pair.1.y - pair.0.y
                return sum + (dx * dx + dy * dy).squareRoot()
            }
        }
    }
}
