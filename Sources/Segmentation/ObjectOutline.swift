/// Links a region's directed crack edges into closed rings, simplified and valid as polygons, that
/// still rasterise (pixel centre inside) to exactly the mask.
///
/// Every vertex has as many edges leaving as arriving. Where two foreground pixels touch only at a
/// corner (a saddle, two edges each way), the ring turns right, around its own pixel, so 4-connected
/// regions stay apart. Then every corner is cut half a pixel along both of its edges: unit steps become
/// their midpoints, so a staircase of equal steps collapses into one straight segment once collinear
/// points are merged. Every vertex kept lies on the traced crack contour and the outline strays at most
/// 0.36 px from it; no pixel centre changes side (each cut passes 0.35 px from the centre of the pixel
/// whose corner it cuts); and the two passes through a saddle are cut apart, so no ring touches itself
/// or another ring of its region (distinct regions may still meet).
enum ObjectOutline {
    static let cornerCut = 0.5

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
            var corners: [(x: Int32, y: Int32)] = []
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
                corners.append((edge.x1, edge.y1))
                index = next
            } while index != start
            let ring = polish(corners)
            if signedArea(ring) > 0 { outer = ring } else { holes.append(ring) }
        }
        return [outer] + holes
    }

    /// Cuts every corner, merges points on one straight line, and closes the ring.
    private static func polish(_ corners: [(x: Int32, y: Int32)]) -> [TracedObject.Point] {
        let count = corners.count
        var cut: [TracedObject.Point] = []
        cut.reserveCapacity(2 * count)
        for i in 0..<count {
            let before = corners[(i + count - 1) % count], corner = corners[i], after = corners[(i + 1) % count]
            let inX = Double((corner.x - before.x).signum()), inY = Double((corner.y - before.y).signum())
            let outX = Double((after.x - corner.x).signum()), outY = Double((after.y - corner.y).signum())
            if inX == outX && inY == outY { continue }  // straight on: not a corner
            let x = Double(corner.x), y = Double(corner.y)
            let entry = TracedObject.Point(x: x - cornerCut * inX, y: y - cornerCut * inY)
            if cut.last != entry { cut.append(entry) }  // a unit edge's two cuts meet at its midpoint
            cut.append(.init(x: x + cornerCut * outX, y: y + cornerCut * outY))
        }
        if cut.count > 1, cut.first == cut.last { cut.removeLast() }
        // Merge collinear points (exact: coordinates are multiples of 1/2).
        var ring: [TracedObject.Point] = []
        ring.reserveCapacity(cut.count + 1)
        for point in cut {
            while ring.count >= 2, collinear(ring[ring.count - 2], ring[ring.count - 1], point) { ring.removeLast() }
            ring.append(point)
        }
        while ring.count >= 3, collinear(ring[ring.count - 2], ring[ring.count - 1], ring[0]) { ring.removeLast() }
        while ring.count >= 3, collinear(ring[ring.count - 1], ring[0], ring[1]) { ring.removeFirst() }
        ring.append(ring[0])
        return ring
    }

    private static func collinear(_ a: TracedObject.Point, _ b: TracedObject.Point, _ c: TracedObject.Point) -> Bool {
        (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x) == 0
    }

    /// Twice the shoelace area: positive for the outer boundary as traced here.
    static func signedArea(_ ring: [TracedObject.Point]) -> Double {
        zip(ring, ring.dropFirst()).reduce(0) { $0 + $1.0.x * $1.1.y - $1.1.x * $1.0.y }
    }

    private static func vertexKey(_ x: Int32, _ y: Int32) -> Int64 { Int64(x) << 32 | Int64(UInt32(bitPattern: y)) }
}
