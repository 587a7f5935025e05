import Foundation
import Segmentation
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
            PolygonRaster.fill(rings: rings.map { $0.compactMap { $0.count >= 2 ? (x: $0[0], y: $0[1]) : nil } }, id: id,
                               into: &labels, width: width, height: height)
        }
        return labels
    }
}
