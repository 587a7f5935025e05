import UNetCore

/// Labels a whole image's objects at once (evaluation, training validation): the 4-connected regions
/// of `probability ≥ threshold`, each split by `InstanceSplitter` exactly as `ObjectTracer` splits
/// them row by row on a slide, so what `unet eval` scores is what `unet segment` writes.
public enum InstanceLabeler {
    /// Labels 1...n (row-major order of each object's first pixel is not promised), 0 for background.
    public static func labels(probabilities: [Float], width: Int, height: Int, threshold: Float,
                              separation: ObjectSeparation, maximumSplitArea: Int = 1 << 20) -> [Int32] {
        precondition(probabilities.count == width * height)
        // Regions by breadth-first search; each is split in its bounding box.
        var labels = [Int32](repeating: 0, count: probabilities.count)
        var seen = [Bool](repeating: false, count: probabilities.count)
        let splitter = InstanceSplitter(separation: separation)
        var next: Int32 = 0
        var queue: [Int] = []
        for start in probabilities.indices where !seen[start] && probabilities[start] >= threshold {
            queue.removeAll(keepingCapacity: true)
            queue.append(start)
            seen[start] = true
            var head = 0
            var minX = Int.max, minY = Int.max, maxX = Int.min, maxY = Int.min
            while head < queue.count {
                let pixel = queue[head]
                head += 1
                let x = pixel % width, y = pixel / width
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                func visit(_ neighbour: Int) {
                    if !seen[neighbour] && probabilities[neighbour] >= threshold {
                        seen[neighbour] = true
                        queue.append(neighbour)
                    }
                }
                if x > 0 { visit(pixel - 1) }
                if x + 1 < width { visit(pixel + 1) }
                if y > 0 { visit(pixel - width) }
                if y + 1 < height { visit(pixel + width) }
            }
            guard separation.splits, queue.count > 1, queue.count <= maximumSplitArea else {
                next += 1
                for pixel in queue { labels[pixel] = next }
                continue
            }
            let boxWidth = maxX - minX + 1, boxHeight = maxY - minY + 1
            var mask = [Bool](repeating: false, count: boxWidth * boxHeight)
            var values = [Float](repeating: 0, count: boxWidth * boxHeight)
            for pixel in queue {
                let local = (pixel / width - minY) * boxWidth + pixel % width - minX
                mask[local] = true
                values[local] = probabilities[pixel]
            }
            let (pieces, count) = splitter.split(mask: mask, probabilities: values, width: boxWidth, height: boxHeight)
            for pixel in queue {
                labels[pixel] = next + pieces[(pixel / width - minY) * boxWidth + pixel % width - minX]
            }
            next += Int32(count)
        }
        return labels
    }
}
