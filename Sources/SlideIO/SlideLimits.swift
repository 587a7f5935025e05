/// Limits checked before anything large is allocated, so a hostile or broken file cannot exhaust memory.
public struct SlideLimits: Sendable, Equatable {
    /// Largest declared width × height accepted (default 10 gigapixels: a 100,000² scan).
    public var maximumPixels: Int
    /// Cap on any single allocation libtiff makes while decoding (default 512 MiB).
    public var maximumSingleAllocation: Int

    public init(maximumPixels: Int = 10_000_000_000, maximumSingleAllocation: Int = 512 << 20) {
        self.maximumPixels = maximumPixels
        self.maximumSingleAllocation = maximumSingleAllocation
    }
}
