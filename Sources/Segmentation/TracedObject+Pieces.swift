import UNetCore

extension TracedObject {
    /// The objects of a label map over a box of the slide (`labels` 1...count, 0 outside every object),
    /// each measured and outlined on its own: its crack edges are the sides of its pixels that face
    /// another label or the background, directed with the object on the right as `ObjectTracer` has them.
    /// `boundaries`: also list each object's pixels that touch another object of the map (`splitBoundary`).
    static func pieces(labels: [Int32], count: Int, probabilities: [Float], stains: [SIMD2<Float>]? = nil, box: (x: Int, y: Int, width: Int, height: Int),
                       boundaries: Bool = false) -> [TracedObject] {
        var pieces = [Piece](repeating: Piece(), count: count + 1)
        let width = box.width, height = box.height
        func label(_ x: Int, _ y: Int) -> Int32 { x < 0 || y < 0 || x >= width || y >= height ? 0 : labels[y * width + x] }
        func touches(_ x: Int, _ y: Int, _ own: Int32) -> Bool { let other = label(x, y); return other != 0 && other != own }
        for y in 0..<height {
            for x in 0..<width {
                let own = labels[y * width + x]
                guard own != 0 else { continue }
                let gx = Int32(box.x + x), gy = Int32(box.y + y)
                let top = label(x, y - 1) != own, right = label(x + 1, y) != own
                let bottom = label(x, y + 1) != own, left = label(x - 1, y) != own
                Self.add(to: &pieces[Int(own)], x: gx, y: gy, probability: probabilities[y * width + x],
                         top: top, right: right, bottom: bottom, left: left)
                if let stains { pieces[Int(own)].stain.add(stains[y * width + x]) }
                if boundaries && (touches(x, y - 1, own) || touches(x + 1, y, own) || touches(x, y + 1, own) || touches(x - 1, y, own)) {
                    pieces[Int(own)].boundary.append(SIMD2(gx, gy))
                }
            }
        }
        return pieces.dropFirst().filter { $0.area > 0 }.map { piece in
            TracedObject(area: piece.area, centroidX: piece.sumX / Double(piece.area), centroidY: piece.sumY / Double(piece.area),
                         meanProbability: piece.probabilitySum / Double(piece.area),
                         boundingBox: (piece.minX, piece.minY, piece.maxX - piece.minX + 1, piece.maxY - piece.minY + 1),
                         rings: ObjectOutline.rings(piece.edges), stain: stains == nil ? nil : piece.stain, splitBoundary: piece.boundary)
        }
    }

    /// One object of `pieces` while its pixels are counted.
    private struct Piece {
        var area = 0, sumX = 0.0, sumY = 0.0, probabilitySum = 0.0
        var minX = Int.max, minY = Int.max, maxX = Int.min, maxY = Int.min
        var edges: [Edge] = []
        var stain = StainStatistics()
        var boundary: [SIMD2<Int32>] = []
    }

    /// Counts pixel (x, y) into `piece` and adds the sides of it that face elsewhere.
    private static func add(to piece: inout Piece, x: Int32, y: Int32, probability: Float, top: Bool, right: Bool, bottom: Bool, left: Bool) {
        piece.area += 1
        piece.sumX += Double(x) + 0.5
        piece.sumY += Double(y) + 0.5
        piece.probabilitySum += Double(probability)
        piece.minX = min(piece.minX, Int(x)); piece.maxX = max(piece.maxX, Int(x))
        piece.minY = min(piece.minY, Int(y)); piece.maxY = max(piece.maxY, Int(y))
        if top { piece.edges.append(Edge(x0: x, y0: y, x1: x + 1, y1: y)) }
        if right { piece.edges.append(Edge(x0: x + 1, y0: y, x1: x + 1, y1: y + 1)) }
        if bottom { piece.edges.append(Edge(x0: x + 1, y0: y + 1, x1: x, y1: y + 1)) }
        if left { piece.edges.append(Edge(x0: x, y0: y + 1, x1: x, y1: y)) }
    }
}
