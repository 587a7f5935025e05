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
        let order = mask.indices.filter { mask[$0] }.sorted { heights[$0] > heights[$1] || (heights[$0] == heights[$1] && $0 < $1) }
        var basin = [Int32](repeating: -1, count: mask.count)
        var parent: [Int32] = [], peak: [Float] = []
        func root(_ b: Int32) -> Int32 {
            var b = b
            while parent[Int(b)] != b {
                parent[Int(b)] = parent[Int(parent[Int(b)])]
                b = parent[Int(b)]
            }
            return b
        }
        var neighbours: [Int32] = []
        for pixel in order {
            let x = pixel % width, y = pixel / width
            neighbours.removeAll(keepingCapacity: true)
            for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && nx < width && ny >= 0 && ny < height {
                let b = basin[ny * width + nx]
                guard b >= 0 else { continue }
                let r = root(b)
                if !neighbours.contains(r) { neighbours.append(r) }
            }
            guard !neighbours.isEmpty else {
                basin[pixel] = Int32(parent.count)
                parent.append(Int32(parent.count))
                peak.append(heights[pixel])
                continue
            }
            let highest = neighbours.min { peak[Int($0)] > peak[Int($1)] || (peak[Int($0)] == peak[Int($1)] && $0 < $1) }!
            for other in neighbours where other != highest && peak[Int(other)] - heights[pixel] < dynamic {
                parent[Int(other)] = highest
            }
            basin[pixel] = highest
        }
        // Number the surviving basins 1... in order of their first pixel (row-major), for stable ids.
        var number = [Int32](repeating: 0, count: parent.count)
        var count: Int32 = 0
        var labels = [Int32](repeating: 0, count: mask.count)
        for pixel in mask.indices where basin[pixel] >= 0 {
            let r = Int(root(basin[pixel]))
            if number[r] == 0 { count += 1; number[r] = count }
            labels[pixel] = number[r]
        }
        return (labels, Int(count))
    }
}
