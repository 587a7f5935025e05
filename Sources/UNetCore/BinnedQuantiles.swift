/// Quantiles of a stream of values in constant memory: counts in fixed bins of `binWidth` from
/// `lower`, interpolated within the bin, so a quantile is within one bin width of the exact one.
/// Values outside the range count in the first or last bin.
public struct BinnedQuantiles: Sendable {
    public let lower: Double
    public let binWidth: Double
    private var counts: [Int]
    public private(set) var total = 0

    public init(lower: Double, upper: Double, binWidth: Double) {
        self.lower = lower
        self.binWidth = binWidth
        counts = [Int](repeating: 0, count: max(1, Int(((upper - lower) / binWidth).rounded(.up))))
    }

    public mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        let bin = min(counts.count - 1, max(0, Int(((value - lower) / binWidth).rounded(.down))))
        counts[bin] += 1
        total += 1
    }

    /// The value below which `fraction` of the values fall (nil when there are none).
    public func quantile(_ fraction: Double) -> Double? {
        guard total > 0 else { return nil }
        let target = fraction * Double(total)
        var below = 0
        for (bin, count) in counts.enumerated() where count > 0 {
            if Double(below + count) >= target {
                let within = (target - Double(below)) / Double(count)
                return lower + (Double(bin) + within) * binWidth
            }
            below += count
        }
        return lower + Double(counts.count) * binWidth
    }
}
