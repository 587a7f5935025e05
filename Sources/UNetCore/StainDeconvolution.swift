import Foundation

/// Colour deconvolution of 8-bit RGB into hematoxylin and eosin optical densities.
///
/// A pixel's optical density is OD = −log10(I / 255) per channel (QuPath's convention, background
/// 255; a channel at 0 counts as 1, so OD stays finite at 2.41). Its OD vector is c_H·H + c_E·E + c_R·R,
/// with R the residual (H × E); the stain amounts (c_H, c_E) solve that 3 × 3 system. QuPath calls
/// c_H the pixel's "Hematoxylin OD".
public struct StainDeconvolution: Sendable {
    public let vectors: StainVectors
    /// OD of each 8-bit level.
    private let density: [Float]
    /// Rows of the inverse of [H; E; R]: the stain amounts are `od · column`.
    private let toHematoxylin: SIMD3<Float>, toEosin: SIMD3<Float>

    public init(vectors: StainVectors) {
        self.vectors = vectors
        density = (0..<256).map { Float(Self.opticalDensity(UInt8($0))) }
        let h = vectors.hematoxylinVector, e = vectors.eosinVector
        var residual = SIMD3(h.y * e.z - h.z * e.y, h.z * e.x - h.x * e.z, h.x * e.y - h.y * e.x)
        residual = StainVectors.unit(residual)
        // OD (row) = c · M with M's rows H, E, R; c = OD · M⁻¹, so the first two columns of M⁻¹ are wanted.
        let m = [h, e, residual]
        let determinant = (m[0] * Self.cross(m[1], m[2])).sum()
        // M⁻¹ = adj(M) / det: its columns are the cross products of M's rows.
        let column0 = Self.cross(m[1], m[2]) / determinant, column1 = Self.cross(m[2], m[0]) / determinant
        toHematoxylin = SIMD3<Float>(Float(column0.x), Float(column0.y), Float(column0.z))
        toEosin = SIMD3<Float>(Float(column1.x), Float(column1.y), Float(column1.z))
    }

    /// −log10(max(level, 1) / 255).
    public static func opticalDensity(_ level: UInt8) -> Double { -log10(Double(max(level, 1)) / 255) }

    /// The hematoxylin and eosin OD of one pixel.
    @inline(__always)
    public func stains(red: UInt8, green: UInt8, blue: UInt8) -> SIMD2<Float> {
        let od = SIMD3<Float>(density[Int(red)], density[Int(green)], density[Int(blue)])
        return SIMD2((od * toHematoxylin).sum(), (od * toEosin).sum())
    }

    private static func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }
}
