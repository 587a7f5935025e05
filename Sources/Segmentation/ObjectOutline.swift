/// Links a region's directed crack edges into closed rings, exact to the pixel grid and valid as polygons.
///
/// Every vertex has as many edges leaving as arriving. Where two foreground pixels touch only at a
/// corner (a saddle, two edges each way), the ring turns right, around its own pixel, so 4-connected
/// regions stay apart; and the corner is cut by `saddleCut` on both passes, so that no ring of the region
/// touches itself or another of its rings (distinct regions may still meet at a corner). Cuts stay within a quarter pixel of a pixel corner and never reach a pixel centre,
/// so the rings still rasterise to exactly the mask. Straight runs of edges become one segment; no
/// other vertex is dropped, so the outline stays within the 1-pixel tolerance with none to spare.
enum ObjectOutline {
    static let saddleCut = 0.25

    static func rings(_ edges: [Edge]) -> [[TracedObject.Point]] {
        // Edges by start vertex: a sorted index (12 bytes per edge) rather than a dictionary (several
        // times that), since one region's outline can run to millions of edges.
        let keys = edges.map { vertexKey($0.x0, $0.y0) }
        let order = keys.indices.sorted { keys[$0] < keys[$1] }.map(Int32.init)
        func leaving(_ x: Int32, _ y: Int32) -> (Int, Int) {  // edge indices; the second -1 unless a saddle
            let key = vertexKey(x, y)
            var low = 0, high = order.count
            while low < high {
                let middle = (low + high) / 2
                if keys[Int(order[middle])] < key { low = middle + 1 } else { high = middle }
            }
            let second = low + 1 < order.count && keys[Int(order[low + 1])] == key ? Int(order[low + 1]) : -1
            return (Int(order[low]), second)
        }
        var used = [Bool](repeating: false, count: edges.count)
        var outer: [TracedObject.Point] = [], holes: [[TracedObject.Point]] = []
        for start in edges.indices where !used[start] {
            var corners: [(x: Int32, y: Int32, saddle: Bool)] = []
            var index = start
            repeat {
                used[index] = true
                let edge = edges[index]
                let options = leaving(edge.x1, edge.y1)
                var next = options.0
                if options.1 >= 0 {  // a saddle: take the right turn, (dx, dy) → (-dy, dx)
                    let dx = (edge.x1 - edge.x0).signum(), dy = (edge.y1 - edge.y0).signum()
                    let candidate = edges[options.1]
                    if (candidate.x1 - candidate.x0).signum() == -dy && (candidate.y1 - candidate.y0).signum() == dx { next = options.1 }
                }
                corners.append((edge.x1, edge.y1, options.1 >= 0))
                index = next
            } while index != start
            let ring = polish(corners)
            if signedArea(ring) > 0 { outer = ring } else { holes.append(ring) }
        }
        return [outer] + holes
    }

    /// Drops corners where the ring goes straight on, cuts saddle corners, and closes the ring.
    private static func polish(_ corners: [(x: Int32, y: Int32, saddle: Bool)]) -> [TracedObject.Point] {
        let count = corners.count
        var ring: [TracedObject.Point] = []
        ring.reserveCapacity(count + 1)
        for i in 0..<count {
            let before = corners[(i + count - 1) % count], corner = corners[i], after = corners[(i + 1) % count]
            let inX = Double((corner.x - before.x).signum()), inY = Double((corner.y - before.y).signum())
            let outX = Double((after.x - corner.x).signum()), outY = Double((after.y - corner.y).signum())
            if inX == outX && inY == outY { continue }  // straight on
            let x = Double(corner.x), y = Double(corner.y)
            if corner.saddle {
                ring.append(.init(x: x - saddleCut * inX, y: y - saddleCut * inY))
                ring.append(.init(x: x + saddleCut * outX, y: y + saddleCut * outY))
            } else {
                ring.append(.init(x: x, y: y))
            }
        }
        ring.append(ring[0])
        return ring
    }

    /// Twice the shoelace area: positive for the outer boundary as traced here.
    static func signedArea(_ ring: [TracedObject.Point]) -> Double {
        zip(ring, ring.dropFirst()).reduce(0) { $0 + $1.0.x * $1.1.y - $1.1.x * $1.0.y }
    }

    private static func vertexKey(_ x: Int32, _ y: Int32) -> Int64 { Int64(x) << 32 | Int64(UInt32(bitPattern: y)) }
}
