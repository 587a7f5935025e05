/// Exact Euclidean distance transforms of small binary masks (a nucleus, a region of touching nuclei).
public enum DistanceTransform {
    /// Euclidean distance from each foreground pixel to the nearest background pixel (outside the box
    /// counts as background); 0 on background. Felzenszwalb & Huttenlocher's two separable passes.
    public static func euclidean(_ mask: [Bool], width: Int, height: Int) -> [Float] {
        let far = Float(width * width + height * height + 1)
        // Pad by one background pixel all round, so the box's edge is background.
        let w = width + 2, h = height + 2
        var squared = [Float](repeating: 0, count: w * h)
        for y in 0..<height { for x in 0..<width where mask[y * width + x] { squared[(y + 1) * w + x + 1] = far } }
        var line = [Float](repeating: 0, count: max(w, h)), out = line
        for x in 0..<w {
            for y in 0..<h { line[y] = squared[y * w + x] }
            lowerEnvelope(line, count: h, into: &out)
            for y in 0..<h { squared[y * w + x] = out[y] }
        }
        for y in 0..<h {
            for x in 0..<w { line[x] = squared[y * w + x] }
            lowerEnvelope(line, count: w, into: &out)
            for x in 0..<w { squared[y * w + x] = out[x] }
        }
        var distance = [Float](repeating: 0, count: mask.count)
        for y in 0..<height { for x in 0..<width { distance[y * width + x] = squared[(y + 1) * w + x + 1].squareRoot() } }
        return distance
    }

    /// out[q] = min over p of (q − p)² + f[p]: the lower envelope of parabolas rooted at each p.
    private static func lowerEnvelope(_ f: [Float], count n: Int, into out: inout [Float]) {
        var vertices = [Int](repeating: 0, count: n)
        var bounds = [Float](repeating: 0, count: n + 1)
        var k = 0
        bounds[0] = -.infinity
        bounds[1] = .infinity
        for q in 1..<n {
            var s: Float
            repeat {
                let p = vertices[k]
                s = ((f[q] + Float(q * q)) - (f[p] + Float(p * p))) / Float(2 * q - 2 * p)
                if s <= bounds[k] { k -= 1 } else { break }
            } while k >= 0
            k += 1
            vertices[k] = q
            bounds[k] = s
            bounds[k + 1] = .infinity
        }
        k = 0
        for q in 0..<n {
            while bounds[k + 1] < Float(q) { k += 1 }
            let d = Float(q - vertices[k])
            out[q] = d * d + f[vertices[k]]
        }
    }
}
