import Foundation

/// Gaussian importance map for blending overlapping tiles (as MONAI and nnU-Net do): σ = side/8 per
/// axis, normalised to a peak of 1 and clamped below at `floor` so that border pixels still count where
/// only one tile covers them.
public enum BlendingWeights {
    public static func gaussian(width: Int, height: Int, sigmaFraction: Double = 1.0 / 8.0, floor: Float = 1e-3) -> [Float] {
        func profile(_ length: Int) -> [Double] {
            let sigma = max(Double(length) * sigmaFraction, 1e-6), centre = Double(length - 1) / 2
            return (0..<length).map { exp(-pow(Double($0) - centre, 2) / (2 * sigma * sigma)) }
        }
        let rows = profile(height), columns = profile(width)
        var weights = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width { weights[y * width + x] = max(Float(rows[y] * columns[x]), floor) }
        }
        return weights
    }
}
