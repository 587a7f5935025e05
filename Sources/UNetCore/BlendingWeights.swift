import Foundation

/// Gaussian importance map for blending overlapping tiles (as MONAI and nnU-Net do): σ = side/8 per
/// axis, normalised to a peak of 1 and clamped below so that border pixels still count where only one
/// tile covers them. The map is the product of one profile per axis (each clamped at √floor), so the
/// sum of the weights of every tile covering a pixel is a product too: the stitcher keeps one total per
/// row and per column instead of one per pixel.
public enum BlendingWeights {
    /// The weight along one axis of a tile `length` pixels long.
    public static func profile(length: Int, sigmaFraction: Double = 1.0 / 8.0, floor: Float = 1e-3) -> [Float] {
        let sigma = max(Double(length) * sigmaFraction, 1e-6), centre = Double(length - 1) / 2
        let axisFloor = floor.squareRoot()
        return (0..<length).map { max(Float(exp(-pow(Double($0) - centre, 2) / (2 * sigma * sigma))), axisFloor) }
    }

    /// The whole map, row-major (tests and callers that want it as an image).
    public static func gaussian(width: Int, height: Int, sigmaFraction: Double = 1.0 / 8.0, floor: Float = 1e-3) -> [Float] {
        let rows = profile(length: height, sigmaFraction: sigmaFraction, floor: floor)
        let columns = profile(length: width, sigmaFraction: sigmaFraction, floor: floor)
        return rows.flatMap { row in columns.map { row * $0 } }
    }

    /// Σ of `profile(tile)` over the tiles at `origins` covering each of `length` pixels.
    public static func totals(length: Int, tile: Int, origins: [Int]) -> [Float] {
        let weights = profile(length: tile)
        var totals = [Float](repeating: 0, count: length)
        for origin in origins {
            for i in 0..<min(tile, length - origin) { totals[origin + i] += weights[i] }
        }
        return totals
    }
}
