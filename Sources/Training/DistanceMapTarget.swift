import Segmentation
import UNetCore

/// The target an instance model learns: 0 on background and, inside each nucleus, 0.6 at its edge
/// rising to 1 at its centre (0.6 + 0.4 × the distance to the nearest pixel outside the nucleus,
/// divided by the nucleus's largest such distance). Touching nuclei meet in a valley near 0.6 between
/// peaks at 1, which `ObjectSeparation.distanceMap` splits at; the mask is the map ≥ 0.5. Normalising
/// by each nucleus's own depth makes the target the same at any scale.
enum DistanceMapTarget {
    static let edge: Float = 0.6
    /// The foreground threshold an instance model records.
    static let threshold: Float = 0.4

    /// round(255 × target) per pixel, from an instance map (0 background, one id per nucleus).
    static func make(instances: [Int32], width: Int, height: Int) -> [UInt8] {
        var boxes: [Int32: (minX: Int, minY: Int, maxX: Int, maxY: Int)] = [:]
        for y in 0..<height {
            for x in 0..<width {
                let id = instances[y * width + x]
                guard id != 0 else { continue }
                let box = boxes[id] ?? (x, y, x, y)
                boxes[id] = (min(box.minX, x), min(box.minY, y), max(box.maxX, x), max(box.maxY, y))
            }
        }
        var target = [UInt8](repeating: 0, count: instances.count)
        for (id, box) in boxes {
            let w = box.maxX - box.minX + 1, h = box.maxY - box.minY + 1
            var mask = [Bool](repeating: false, count: w * h)
            for y in 0..<h { for x in 0..<w { mask[y * w + x] = instances[(box.minY + y) * width + box.minX + x] == id } }
            let distance = DistanceTransform.euclidean(mask, width: w, height: h)
            let deepest = distance.max() ?? 1
            for y in 0..<h {
                for x in 0..<w where mask[y * w + x] {
                    let value = edge + (1 - edge) * distance[y * w + x] / max(deepest, 1)
                    target[(box.minY + y) * width + box.minX + x] = UInt8((value * 255).rounded())
                }
            }
        }
        return target
    }
}
