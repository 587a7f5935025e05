import Foundation
import SlideIO

/// Instance labels from a QuPath GeoJSON export (File › Export objects as GeoJSON): each feature's
/// `Polygon` or `MultiPolygon`, in level-0 pixel coordinates, becomes one nucleus id, filled where a pixel's
/// centre lies inside (even-odd over its rings, so holes stay holes). Later features overwrite earlier
/// ones where they overlap.
enum GeoJSONInstances {
    static func read(_ path: String, width: Int, height: Int) throws(SlideError) -> [Int32] {
        guard let data = FileManager.default.contents(atPath: path),
              let root = try? JSONSerialization.jsonObject(with: data) else {
            throw SlideError(path: path, reason: "not readable as JSON")
        }
        // A FeatureCollection, a bare array of features (QuPath's "export as array"), or one feature.
        let features: [[String: Any]]
        if let collection = root as? [String: Any], let list = collection["features"] as? [[String: Any]] {
            features = list
        } else if let list = root as? [[String: Any]] {
            features = list
        } else if let feature = root as? [String: Any], feature["geometry"] != nil {
            features = [feature]
        } else {
            throw SlideError(path: path, reason: "no GeoJSON features")
        }
        var labels = [Int32](repeating: 0, count: width * height)
        var id: Int32 = 0
        for feature in features {
            guard let geometry = feature["geometry"] as? [String: Any], let type = geometry["type"] as? String else { continue }
            let polygons: [Any]
            switch type {
            case "Polygon": polygons = [geometry["coordinates"] as Any]
            case "MultiPolygon": polygons = geometry["coordinates"] as? [Any] ?? []
            default: continue  // points and lines are not nuclei
            }
            let rings = polygons.compactMap { $0 as? [[[Double]]] }.flatMap { $0 }
            guard !rings.isEmpty else { throw SlideError(path: path, reason: "feature \(id + 1) has a polygon without numeric rings") }
            id += 1
            fill(rings: rings, id: id, into: &labels, width: width, height: height)
        }
        return labels
    }

    /// Scanline fill by pixel centres, even-odd over all `rings`.
    static func fill(rings: [[[Double]]], id: Int32, into labels: inout [Int32], width: Int, height: Int) {
        let ys = rings.flatMap { $0.compactMap { $0.count >= 2 ? $0[1] : nil } }
        guard let low = ys.min(), let high = ys.max() else { return }
        let first = max(0, Int((low - 0.5).rounded(.up))), last = min(height - 1, Int((high - 0.5).rounded(.down)))
        guard first <= last else { return }
        for y in first...last {
            let centre = Double(y) + 0.5
            var crossings: [Double] = []
            for ring in rings {
                for (a, b) in zip(ring, ring.dropFirst()) where a.count >= 2 && b.count >= 2 && (a[1] <= centre) != (b[1] <= centre) {
                    crossings.append(a[0] + (centre - a[1]) * (b[0] - a[0]) / (b[1] - a[1]))
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
