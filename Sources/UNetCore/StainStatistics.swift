/// Running statistics of one object's stain amounts: hematoxylin OD mean, standard deviation and
/// maximum, and eosin OD mean, as QuPath's cell detection reports them.
public struct StainStatistics: Sendable, Equatable {
    public private(set) var count = 0
    private var hematoxylinSum = 0.0, hematoxylinSquares = 0.0, eosinSum = 0.0
    public private(set) var hematoxylinMaximum = -Double.infinity

    public init() {}

    @inline(__always)
    public mutating func add(_ stains: SIMD2<Float>) {
        let h = Double(stains.x)
        count += 1
        hematoxylinSum += h
        hematoxylinSquares += h * h
        hematoxylinMaximum = max(hematoxylinMaximum, h)
        eosinSum += Double(stains.y)
    }

    public mutating func merge(_ other: StainStatistics) {
        count += other.count
        hematoxylinSum += other.hematoxylinSum
        hematoxylinSquares += other.hematoxylinSquares
        eosinSum += other.eosinSum
        hematoxylinMaximum = max(hematoxylinMaximum, other.hematoxylinMaximum)
    }

    public var hematoxylinMean: Double { count > 0 ? hematoxylinSum / Double(count) : 0 }
    public var eosinMean: Double { count > 0 ? eosinSum / Double(count) : 0 }
    /// The population standard deviation (QuPath's `RunningStatistics`).
    public var hematoxylinStandardDeviation: Double {
        guard count > 0 else { return 0 }
        let mean = hematoxylinMean
        return max(0, hematoxylinSquares / Double(count) - mean * mean).squareRoot()
    }
}
