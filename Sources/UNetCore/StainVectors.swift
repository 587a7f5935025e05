import Foundation

/// The optical-density colours of hematoxylin and eosin on one slide, for colour deconvolution
/// (Ruifrok & Johnston 2001), and where they came from. result.json records them.
public struct StainVectors: Codable, Sendable, Equatable {
    /// How the vectors were chosen.
    public enum Source: String, Codable, Sendable {
        /// Estimated from the slide's tissue (Macenko et al. 2009).
        case macenko
        /// Ruifrok & Johnston's H&E vectors (QuPath's "H&E default"), used when no credible estimate exists.
        case standard
    }

    /// Unit OD vectors (red, green, blue).
    public var hematoxylin: [Double]
    public var eosin: [Double]
    public var source: Source
    /// Why the estimate was not used (with `standard`), in words.
    public var fallbackReason: String?

    enum CodingKeys: String, CodingKey { case hematoxylin, eosin, source, fallbackReason = "fallback_reason" }

    public init(hematoxylin: SIMD3<Double>, eosin: SIMD3<Double>, source: Source, fallbackReason: String? = nil) {
        self.hematoxylin = Self.unit(hematoxylin).array
        self.eosin = Self.unit(eosin).array
        self.source = source
        self.fallbackReason = fallbackReason
    }

    /// Ruifrok & Johnston's hematoxylin and eosin, as QuPath's `H&E default` has them.
    public static let standardHematoxylin = SIMD3<Double>(0.651, 0.701, 0.290)
    public static let standardEosin = SIMD3<Double>(0.216, 0.801, 0.558)

    /// The standard H&E vectors, with the reason they are used.
    public static func standard(because reason: String? = nil) -> StainVectors {
        StainVectors(hematoxylin: standardHematoxylin, eosin: standardEosin, source: .standard, fallbackReason: reason)
    }

    public var hematoxylinVector: SIMD3<Double> { SIMD3(hematoxylin[0], hematoxylin[1], hematoxylin[2]) }
    public var eosinVector: SIMD3<Double> { SIMD3(eosin[0], eosin[1], eosin[2]) }

    static func unit(_ v: SIMD3<Double>) -> SIMD3<Double> {
        let length = (v * v).sum().squareRoot()
        return length > 0 ? v / length : v
    }

    /// The angle between two vectors, in degrees.
    static func degrees(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double {
        let cosine = (unit(a) * unit(b)).sum()
        return acos(min(1, max(-1, cosine))) * 180 / .pi
    }
}

extension SIMD3<Double> {
    var array: [Double] { [x, y, z] }
}
