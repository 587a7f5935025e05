import Foundation
import SlideIO

/// Ground truth for one slide, produced row by row so that scoring a large slide needs no full-size mask.
public struct GroundTruth: Sendable {
    public enum Source: Sendable {
        /// BreCaHAD points in slide pixels, sorted by y, drawn as filled circles of `radius`.
        case points([(x: Int, y: Int)], radius: Int)
        /// A mask image (non-zero = foreground) of the slide's size.
        case mask(width: Int, pixels: [UInt8])
        /// An instance map of the slide's size: 0 background, one id per nucleus (scores objects too).
        case instances(width: Int, labels: [Int32])
    }

    /// The truth's instance map, when it has one.
    public var instances: [Int32]? {
        if case .instances(_, let labels) = source { return labels }
        return nil
    }

    public let path: String
    public let source: Source

    /// Finds the truth for `slidePath`: the explicit path in `options`, else `NAME.json`, `NAME.truth.png`
    /// or an instance map `NAME.inst.png` / `NAME_inst.png` beside the slide; nil when there is none.
    public static func locate(for slidePath: String, width: Int, height: Int, options: GroundTruthOptions) throws(SlideError) -> GroundTruth? {
        let base = URL(fileURLWithPath: slidePath).deletingPathExtension().path
        let candidates = options.path.map { [$0] } ?? [base + ".json", base + ".truth.png", base + ".inst.png", base + "_inst.png"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            if let explicit = options.path { throw SlideError(path: explicit, reason: "ground truth file not found") }
            return nil
        }
        if path.hasSuffix(".json") {
            return GroundTruth(path: path, source: .points(try breCaHADPoints(path, width: width, height: height, classes: options.classes),
                                                            radius: options.radius))
        }
        if path.hasSuffix("inst.png") {
            let map = try PNGImage.readLabels(path)
            guard map.width == width, map.height == height else {
                throw SlideError(path: path, reason: "instance map is \(map.width)×\(map.height) but the slide is \(width)×\(height)")
            }
            return GroundTruth(path: path, source: .instances(width: width, labels: map.labels.map { Int32($0) }))
        }
        let mask = try PNGImage.readGray(path)
        guard mask.width == width, mask.height == height else {
            throw SlideError(path: path, reason: "truth mask is \(mask.width)×\(mask.height) but the slide is \(width)×\(height)")
        }
        return GroundTruth(path: path, source: .mask(width: width, pixels: mask.pixels))
    }

    /// Reads BreCaHAD's JSON: `{"tumor": [{"x": 0.41, "y": 0.27}, ...], "non_tumor": [...], ...}` with
    /// coordinates normalised to [0, 1]; keeps the points of `classes`, in slide pixels, sorted by y.
    static func breCaHADPoints(_ path: String, width: Int, height: Int, classes: [String]) throws(SlideError) -> [(x: Int, y: Int)] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data), let groups = object as? [String: Any] else {
            throw SlideError(path: path, reason: "not a BreCaHAD ground-truth JSON object")
        }
        var points: [(x: Int, y: Int)] = []
        for name in classes {
            guard let entries = groups[name] else { continue }
            guard let list = entries as? [[String: Any]] else { throw SlideError(path: path, reason: "class '\(name)' is not a list of points") }
            for entry in list {
                guard let x = (entry["x"] as? NSNumber)?.doubleValue, let y = (entry["y"] as? NSNumber)?.doubleValue,
                      (0...1).contains(x), (0...1).contains(y) else {
                    throw SlideError(path: path, reason: "class '\(name)' has a point without x and y in [0, 1]")
                }
                points.append((min(width - 1, Int(x * Double(width))), min(height - 1, Int(y * Double(height)))))
            }
        }
        return points.sorted { $0.y < $1.y }
    }

    /// Fills `row` (slide width) with the truth of slide row `y`.
    public func fill(row y: Int, into row: UnsafeMutableBufferPointer<Bool>) {
        switch source {
        case .mask(let width, let pixels):
            for x in 0..<row.count { row[x] = pixels[y * width + x] != 0 }
        case .instances(let width, let labels):
            for x in 0..<row.count { row[x] = labels[y * width + x] != 0 }
        case .points(let points, let radius):
            row.update(repeating: false)
            // Binary search the first point within reach of this row.
            var low = 0, high = points.count
            while low < high { let mid = (low + high) / 2; if points[mid].y < y - radius { low = mid + 1 } else { high = mid } }
            var index = low
            while index < points.count && points[index].y <= y + radius {
                let dy = points[index].y - y
                let half = Int(Double(radius * radius - dy * dy).squareRoot())
                let from = max(0, points[index].x - half), to = min(row.count - 1, points[index].x + half)
                if from <= to { for x in from...to { row[x] = true } }
                index += 1
            }
        }
    }
}
