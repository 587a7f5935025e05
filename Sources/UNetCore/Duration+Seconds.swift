extension Duration {
    /// The duration in seconds, as timings in summaries and benchmarks report it.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
