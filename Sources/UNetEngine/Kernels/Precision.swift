/// The arithmetic inference runs in, as `--precision` and unetd.toml's `precision` ask for it.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// 32-bit floats throughout (the default, and what the PyTorch golden tests check).
    case fp32
    /// bfloat16 activations and weights, as PyTorch's CPU autocast runs a convolution: every convolution's
    /// input, weights and bias rounded to bf16 (round to nearest, ties to even), products summed in
    /// fp32, each result rounded to bf16 again.
    case bf16
    /// bf16 where the CPU has native bf16 dot products (`avx512bf16`), fp32 elsewhere.
    case auto

    /// `auto` decided for `path`: never `.auto`.
    public func resolved(for path: CPUPath) -> Precision {
        self == .auto ? (path == .avx512bf16 ? .bf16 : .fp32) : self
    }
}

/// bfloat16 rounding of fp32 values: the top 16 bits of the float, rounded to nearest, ties to even
/// (NaN kept a NaN), returned widened back to fp32 so the kernels can keep their fp32 layout.
enum BFloat16 {
    /// A select, not a branch, so that loops of it vectorise (as the kernels' `bf16_bits`).
    @inline(__always)
    static func rounded(_ value: Float) -> Float {
        let bits = value.bitPattern
        let quieted = (bits | 0x0040_0000) & 0xFFFF_0000
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
        return Float(bitPattern: bits & 0x7FFF_FFFF > 0x7F80_0000 ? quieted : rounded)
    }

    /// Rounds `count` values in place.
    static func round(_ values: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { values[i] = rounded(values[i]) }
    }

    /// Rounds `channels` planes of `plane` values in place, the channels shared among `parallel`'s workers.
    static func round(_ values: UnsafeMutablePointer<Float>, channels: Int, plane: Int, parallel: ParallelBands) {
        parallel.split(count: channels) { _, range in round(values + range.lowerBound * plane, count: range.count * plane) }
    }

    static func rounded(_ values: [Float]) -> [Float] { values.map(rounded) }

    /// `v = bf16(max(bf16(v)·scale[c] + shift[c], 0))` over `scale.count` planes: a bf16 convolution's
    /// output rounded, its BatchNorm and ReLU in fp32, rounded again as the next convolution's input.
    static func roundThroughBatchNorm(_ values: UnsafeMutablePointer<Float>, scale: [Float], shift: [Float], plane: Int,
                                      parallel: ParallelBands) {
        parallel.split(count: scale.count) { _, channels in
            for channel in channels {
                let channelValues = values + channel * plane, s = scale[channel], t = shift[channel]
                for i in 0..<plane { channelValues[i] = rounded(max(rounded(channelValues[i]) * s + t, 0)) }
            }
        }
    }
}
