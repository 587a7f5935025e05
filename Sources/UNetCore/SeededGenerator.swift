/// SplitMix64: a small, fast, seedable generator, so that training and augmentation are repeatable
/// (and `--resume` continues exactly) for a given seed, and tests' random inputs replay from their seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one (seed, stream, index) triple, independent of how many numbers others drew.
    public init(seed: UInt64, stream: UInt64, index: UInt64 = 0) {
        var mixer = SeededGenerator(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ (index &* 0xBF58_476D_1CE4_E5B9))
        state = mixer.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func uniform(_ range: ClosedRange<Float>) -> Float { Float.random(in: range, using: &self) }
    /// A double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
