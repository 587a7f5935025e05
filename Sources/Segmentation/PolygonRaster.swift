/// Fills polygons into a label map by pixel centres (even-odd over every ring, so holes stay holes): the
/// inverse of the outlines `ObjectOutline` traces, and how QuPath-style GeoJSON becomes instance labels.
public enum PolygonRaster {
    /// Sets `labels[y · width + x] = id` for every pixel whose centre (x + 0.5, y + 0.5) lies inside `rings`.
    public static func fill(rings: [[(x: Double, y: Double)]], id: Int32, into labels: inout [Int32], width: Int, height: Int) {
        let ys = rings.flatMap { $0.map(\.y) }
        guard let low = ys.min(), let high = ys.max() else { return }
        let first = max(0, Int((low - 0.5).rounded(.up))), last = min(height - 1, Int((high - 0.5).rounded(.down)))
        guard first <= last else { return }
        var crossings: [Double] = []
        for y in first...last {
            let centre = Double(y) + 0.5
            crossings.removeAll(keepingCapacity: true)
            for ring in rings {
                for (a, b) in zip(ring, ring.dropFirst()) where (a.y <= centre) != (b.y <= centre) {
                    crossings.append(a.x + (centre - a.y) * (b.x - a.x) / (b.y - a.y))
                }
            }
            crossings.sort()
            for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                let from = max(0, Int((crossings[pair] - 0.5).rounded(.up))), to = min(width - 1, Int((crossings[pair + 1] - 0.5).rounded(.down)))
                guard from <= to else { continue }
                for x in from...to where Double(x) + 0.5 > crossings[pair] && Double(x) + 0.5 < crossings[pair + 1] { labels[y * width + x] = id }
            }
        }
    }
}
