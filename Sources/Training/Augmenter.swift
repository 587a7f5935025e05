import Foundation
import UNetCore

/// Samples a fresh augmented training tile on the fly: a random window of an image, flipped,
/// rotated, scaled, bent by barrel/pincushion distortion, a Gaussian grid distortion and an elastic
/// deformation, with stain (colour) jitter and focus blur. Image and mask go through the same geometric mapping
/// (image bilinear, mask nearest-neighbour).
public struct Augmenter: Sendable {
    public var tile: Int
    public var preprocessing: Preprocessing
    /// Turns every augmentation off (validation-style crops), for tests and debugging.
    public var enabled: Bool

    public init(tile: Int, preprocessing: Preprocessing, enabled: Bool = true) {
        self.tile = tile
        self.preprocessing = preprocessing
        self.enabled = enabled
    }

    /// Writes one sample: `input[3, tile, tile]` (preprocessed) and `target[tile, tile]` (the mask's 0
    /// or 1, or with instance labels the distance map in [0, 1]).
    public func sample(_ image: LabelledImage, generator: inout SeededGenerator,
                       input: UnsafeMutablePointer<Float>, target: UnsafeMutablePointer<Float>) {
        let mapping = SourceMapping(tile: tile, width: image.image.width, height: image.image.height, enabled: enabled, generator: &generator)
        let jitter = enabled ? StainJitter(generator: &generator) : StainJitter.identity
        let order = preprocessing.channelOrder == .rgb ? [0, 1, 2] : [2, 1, 0]
        let scale = (0..<3).map { preprocessing.scale / (preprocessing.std?[$0] ?? 1) }
        let offset = (0..<3).map { -(preprocessing.mean?[$0] ?? 0) / (preprocessing.std?[$0] ?? 1) }
        let width = image.image.width, height = image.image.height, plane = tile * tile
        let labels = image.target ?? image.mask
        let labelScale: Float = image.target == nil ? 1 : 1 / 255
        image.image.pixels.withUnsafeBufferPointer { pixels in
            for v in 0..<tile {
                for u in 0..<tile {
                    let (sx, sy) = mapping.source(u, v)
                    let x = reflect(sx, width), y = reflect(sy, height)
                    let x0 = min(Int(x), width - 1), y0 = min(Int(y), height - 1)
                    let x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
                    let wx = Float(x - Double(x0)), wy = Float(y - Double(y0))
                    var rgb = SIMD3<Float>()
                    for c in 0..<3 {
                        let top = Float(pixels[(y0 * width + x0) * 3 + c]) * (1 - wx) + Float(pixels[(y0 * width + x1) * 3 + c]) * wx
                        let bottom = Float(pixels[(y1 * width + x0) * 3 + c]) * (1 - wx) + Float(pixels[(y1 * width + x1) * 3 + c]) * wx
                        rgb[c] = top * (1 - wy) + bottom * wy
                    }
                    rgb = jitter.apply(rgb)
                    for c in 0..<3 { input[c * plane + v * tile + u] = rgb[order[c]] * scale[c] + offset[c] }
                    let nearestX = min(Int(x.rounded()), width - 1), nearestY = min(Int(y.rounded()), height - 1)
                    target[v * tile + u] = Float(labels[nearestY * width + nearestX]) * labelScale
                }
            }
        }
        // Focus blur, as scanners leave some fields: 0 to 2 passes of a [1 2 1]/4 kernel, drawn last so
        // the other draws stay what they were.
        let passes = enabled ? [0, 0, 1, 2][Int(generator.next() % 4)] : 0
        for _ in 0..<passes { Self.blur(input, channels: 3, side: tile) }
    }

    /// One separable [1 2 1]/4 pass over each channel plane, edges clamped.
    static func blur(_ planes: UnsafeMutablePointer<Float>, channels: Int, side: Int) {
        var line = [Float](repeating: 0, count: side)
        for c in 0..<channels {
            let plane = planes + c * side * side
            for y in 0..<side {  // rows
                for x in 0..<side { line[x] = plane[y * side + x] }
                for x in 0..<side { plane[y * side + x] = (line[max(x - 1, 0)] + 2 * line[x] + line[min(x + 1, side - 1)]) / 4 }
            }
            for x in 0..<side {  // columns
                for y in 0..<side { line[y] = plane[y * side + x] }
                for y in 0..<side { plane[y * side + x] = (line[max(y - 1, 0)] + 2 * line[y] + line[min(y + 1, side - 1)]) / 4 }
            }
        }
    }

    private func reflect(_ value: Double, _ length: Int) -> Double {
        let limit = Double(length - 1)
        guard limit > 0 else { return 0 }
        var v = abs(value).truncatingRemainder(dividingBy: 2 * limit)
        if v > limit { v = 2 * limit - v }
        return v
    }
}

/// Where each tile pixel comes from in the source image: the composition of a random centre, flips,
/// rotation, scale, radial (barrel/pincushion) distortion and two smooth random displacement fields.
struct SourceMapping {
    let tile: Int
    let centreX: Double, centreY: Double
    let cosine: Double, sine: Double, scale: Double
    let flipX: Double, flipY: Double
    let radial: Double
    let grid: DisplacementField, elastic: DisplacementField

    init(tile: Int, width: Int, height: Int, enabled: Bool, generator: inout SeededGenerator) {
        self.tile = tile
        centreX = Double.random(in: 0..<Double(width), using: &generator)
        centreY = Double.random(in: 0..<Double(height), using: &generator)
        guard enabled else {
            (cosine, sine, scale, flipX, flipY, radial) = (1, 0, 1, 1, 1, 0)
            grid = DisplacementField.none
            elastic = DisplacementField.none
            return
        }
        let angle = Double.random(in: 0..<(2 * Double.pi), using: &generator)
        cosine = cos(angle)
        sine = sin(angle)
        scale = exp(Double.random(in: log(0.8)...log(1.25), using: &generator))
        flipX = Bool.random(using: &generator) ? -1 : 1
        flipY = Bool.random(using: &generator) ? -1 : 1
        radial = Double.random(in: -0.12...0.12, using: &generator)      // < 0 barrel, > 0 pincushion
        grid = DisplacementField(nodes: 5, amplitude: 0.03 * Double(tile), generator: &generator)
        elastic = DisplacementField(nodes: 9, amplitude: 0.015 * Double(tile), generator: &generator)
    }

    func source(_ u: Int, _ v: Int) -> (Double, Double) {
        let half = Double(tile - 1) / 2
        var x = (Double(u) - half) * flipX, y = (Double(v) - half) * flipY
        let r2 = (x * x + y * y) / (half * half + 1e-9)
        x *= 1 + radial * r2
        y *= 1 + radial * r2
        let (gx, gy) = grid.displacement(u: Double(u) / Double(tile - 1), v: Double(v) / Double(tile - 1))
        let (ex, ey) = elastic.displacement(u: Double(u) / Double(tile - 1), v: Double(v) / Double(tile - 1))
        x += gx + ex
        y += gy + ey
        return (centreX + scale * (cosine * x - sine * y), centreY + scale * (sine * x + cosine * y))
    }
}

/// A smooth random displacement: Gaussian offsets on an `nodes × nodes` grid, interpolated bilinearly.
struct DisplacementField {
    let nodes: Int
    let dx: [Double], dy: [Double]

    static let none = DisplacementField(nodes: 2, dx: [0, 0, 0, 0], dy: [0, 0, 0, 0])

    init(nodes: Int, dx: [Double], dy: [Double]) {
        self.nodes = nodes
        self.dx = dx
        self.dy = dy
    }

    init(nodes: Int, amplitude: Double, generator: inout SeededGenerator) {
        func gaussian() -> Double {
            let a = Double.random(in: Double.ulpOfOne..<1, using: &generator), b = Double.random(in: 0..<1, using: &generator)
            return (-2 * log(a)).squareRoot() * cos(2 * .pi * b)
        }
        self.nodes = nodes
        dx = (0..<(nodes * nodes)).map { _ in gaussian() * amplitude }
        dy = (0..<(nodes * nodes)).map { _ in gaussian() * amplitude }
    }

    func displacement(u: Double, v: Double) -> (Double, Double) {
        let gx = u * Double(nodes - 1), gy = v * Double(nodes - 1)
        let x0 = min(Int(gx), nodes - 2), y0 = min(Int(gy), nodes - 2)
        let wx = gx - Double(x0), wy = gy - Double(y0)
        func lerp(_ field: [Double]) -> Double {
            let a = field[y0 * nodes + x0] * (1 - wx) + field[y0 * nodes + x0 + 1] * wx
            let b = field[(y0 + 1) * nodes + x0] * (1 - wx) + field[(y0 + 1) * nodes + x0 + 1] * wx
            return a * (1 - wy) + b * wy
        }
        return (lerp(dx), lerp(dy))
    }
}

/// Stain jitter in optical-density space: each channel's density scaled and shifted a little, which
/// mimics the lab-to-lab variation of H&E staining better than RGB brightness jitter.
struct StainJitter {
    let scale: [Float], shift: [Float]

    static let identity = StainJitter(scale: [1, 1, 1], shift: [0, 0, 0])

    init(scale: [Float], shift: [Float]) {
        self.scale = scale
        self.shift = shift
    }

    init(generator: inout SeededGenerator) {
        scale = (0..<3).map { _ in generator.uniform(0.9...1.1) }
        shift = (0..<3).map { _ in generator.uniform(-0.04...0.04) }
    }

    /// Per channel, no allocation: this runs for every pixel of every training tile.
    func apply(_ rgb: SIMD3<Float>) -> SIMD3<Float> {
        var result = SIMD3<Float>()
        for c in 0..<3 {
            let density = -log((rgb[c] + 1) / 256)
            let jittered = max(0, density * scale[c] + shift[c])
            result[c] = min(255, max(0, 256 * exp(-jittered) - 1))
        }
        return result
    }
}
