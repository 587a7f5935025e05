import UNetCore

/// Splits one connected foreground region into nuclei: a watershed over a height map (the mask's
/// distance transform, or the model's distance map) whose basins merge unless each peak stands
/// `dynamic` above the saddle between them (h-maxima markers and flooding in one pass).
///
/// Pixels are flooded from the highest down, 4-connected, with union-find over basins. Where a pixel
/// joins several basins, every basin whose peak is less than `dynamic` above it merges into the highest;
/// the others stay apart for good (the first meeting is at their highest saddle). The pixel goes to the
/// highest basin, so the objects tile the region with no gap, and each is 4-connected.
///
/// It sees only the region, never its neighbours or where bands and tiles fell, so a nucleus on a
/// seam is split exactly as it would be in one piece.
struct InstanceSplitter {
    let separation: ObjectSeparation

    /// Labels (1...count, 0 outside `mask`) for a region's bounding box, row-major `width × height`.
    func split(mask: [Bool], probabilities: [Float], width: Int, height: Int) -> (labels: [Int32], count: Int) {
        let heights: [Float]
        let dynamic: Float
        switch separation {
        case .components:
            return (mask.map { $0 ? 1 : 0 }, mask.contains(true) ? 1 : 0)
        case .distanceTransform(let h):
            heights = DistanceTransform.euclidean(mask, width: width, height: height)
            dynamic = Float(h)
        case .distanceMap(let h):
            heights = probabilities
            dynamic = Float(h)
        }
        return Self.flood(mask: mask, heights: heights, width: width, height: height, dynamic: dynamic)
    }

    static func flood(mask: [Bool], heights: [Float], width: Int, height: Int, dynamic: Float) -> (labels: [Int32], count: Int) {
        // Highest first, ties by index: one integer sort on (inverted height bits, index). Heights are
        // never negative (distances, probabilities), and the bits of such floats order as they do.
        var keys: [UInt64] = []
        keys.reserveCapacity(mask.count)
        for index in mask.indices where mask[index] {
            let height = heights[index].isNaN ? 0 : max(heights[index], 0)
            keys.append(UInt64(UInt32.max - height.bitPattern) << 32 | UInt64(index))
        }
        keys.sort()
        // Union-find over basins (at most one per pixel), in flat buffers: this runs for every region.
        var basin = [Int32](repeating: -1, count: mask.count)
        var parent = [Int32](repeating: 0, count: keys.count), peak = [Float](repeating: 0, count: keys.count)
        var labels = [Int32](repeating: 0, count: mask.count)
        var count: Int32 = 0
        basin.withUnsafeMutableBufferPointer { basin in
            parent.withUnsafeMutableBufferPointer { parent in
                peak.withUnsafeMutableBufferPointer { peak in
                    func root(_ b: Int32) -> Int32 {
                        var b = Int(b)
                        while parent[b] != Int32(b) {
                            parent[b] = parent[Int(parent[b])]
                            b = Int(parent[b])
                        }
                        return Int32(b)
                    }
                    var basins: Int32 = 0
                    var neighbours: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
                    for key in keys {
                        let pixel = Int(key & 0xFFFF_FFFF), x = pixel % width, y = pixel / width
                        var found = 0
                        func visit(_ neighbour: Int) {
                            let b = basin[neighbour]
                            guard b >= 0 else { return }
                            let r = root(b)
                            if r == neighbours.0 || r == neighbours.1 || r == neighbours.2 { return }
                            switch found {
                            case 0: neighbours.0 = r
                            case 1: neighbours.1 = r
                            case 2: neighbours.2 = r
                            default: neighbours.3 = r
                            }
                            found += 1
                        }
                        neighbours = (-1, -1, -1, -1)
                        if x > 0 { visit(pixel - 1) }
                        if x + 1 < width { visit(pixel + 1) }
                        if y > 0 { visit(pixel - width) }
                        if y + 1 < height { visit(pixel + width) }
                        guard found > 0 else {
                            basin[pixel] = basins
                            parent[Int(basins)] = basins
                            peak[Int(basins)] = heights[pixel]
                            basins += 1
                            continue
                        }
                        func neighbour(_ i: Int) -> Int32 {
                            switch i { case 0: neighbours.0; case 1: neighbours.1; case 2: neighbours.2; default: neighbours.3 }
                        }
                        var highest = neighbours.0
                        for i in 1..<found {
                            let other = neighbour(i)
                            if peak[Int(other)] > peak[Int(highest)] || (peak[Int(other)] == peak[Int(highest)] && other < highest) { highest = other }
                        }
                        let level = heights[pixel]
                        for i in 0..<found {
                            let other = neighbour(i)
                            if other != highest && peak[Int(other)] - level < dynamic { parent[Int(other)] = highest }
                        }
                        basin[pixel] = highest
                    }
                    // Number the surviving basins 1... in order of their first pixel (row-major), for stable ids.
                    var number = [Int32](repeating: 0, count: Int(basins))
                    for pixel in 0..<mask.count where basin[pixel] >= 0 {
                        let r = Int(root(basin[pixel]))
                        if number[r] == 0 { count += 1; number[r] = count }
                        labels[pixel] = number[r]
                    }
                }
            }
        }
        return (labels, Int(count))
    }
}
