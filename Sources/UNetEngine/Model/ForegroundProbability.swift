import Foundation

/// Turns per-class logits into the probability of the foreground class.
public enum ForegroundProbability {
    /// One class: sigmoid. Several: softmax, class 1. Only the pixels in `pixels` (all by default).
    public static func compute(logits: UnsafePointer<Float>, classes: Int, plane: Int, into probability: UnsafeMutablePointer<Float>,
                               pixels: Range<Int>? = nil) {
        let pixels = pixels ?? 0..<plane
        if classes == 1 {
            sigmoid(logits, into: probability, pixels: pixels)
            return
        }
        for i in pixels {
            var largest = -Float.infinity
            for c in 0..<classes { largest = max(largest, logits[c * plane + i]) }
            var sum: Float = 0
            for c in 0..<classes { sum += exp(logits[c * plane + i] - largest) }
            probability[i] = exp(logits[plane + i] - largest) / sum
        }
    }

    /// 1 / (1 + e^-x), sixteen pixels at a time: a call to libm's `expf` per pixel took most of a
    /// 512² tile's 0.4 ms here. The last few pixels go through the same vector arithmetic (padded), so
    /// a pixel's value never depends on how the plane was split between threads.
    static func sigmoid(_ logits: UnsafePointer<Float>, into probability: UnsafeMutablePointer<Float>, pixels: Range<Int>) {
        typealias Lanes = SIMD16<Float>
        var i = pixels.lowerBound
        while i + Lanes.scalarCount <= pixels.upperBound {
            let x = UnsafeRawPointer(logits + i).loadUnaligned(as: Lanes.self)
            UnsafeMutableRawPointer(probability + i).storeBytes(of: 1 / (1 + exponential(-x)), as: Lanes.self)
            i += Lanes.scalarCount
        }
        guard i < pixels.upperBound else { return }
        var x = Lanes()
        for lane in 0..<(pixels.upperBound - i) { x[lane] = logits[i + lane] }
        let p = 1 / (1 + exponential(-x))
        for lane in 0..<(pixels.upperBound - i) { probability[i + lane] = p[lane] }
    }

    /// e^x in every lane, within 2 ulp of libm: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite),
    /// e^r by Cephes' `expf` polynomial, 2^n added to the exponent bits. x is clamped to [-86, 88],
    /// where the result stays finite and normal (beyond it a sigmoid is 0 or 1 to the last bit
    /// anyway); NaN stays NaN. Plain multiplies and adds: `addingProduct` would become a libm `fmaf`
    /// call per lane on CPUs without FMA in the baseline.
    static func exponential(_ value: SIMD16<Float>) -> SIMD16<Float> {
        typealias Lanes = SIMD16<Float>
        var x = value
        x.replace(with: 88, where: x .> 88)
        x.replace(with: -86, where: x .< -86)
        let roundingShift = Lanes(repeating: 12_582_912)  // 1.5 · 2^23: adding it rounds to an integer, kept in the low bits
        let shifted = x * 1.442_695_04 + roundingShift
        let n = shifted - roundingShift
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4  // ln 2 in two parts, so n · ln 2 loses no bits
        var polynomial = Lanes(repeating: 1.987_569_15e-4)
        polynomial = polynomial * r + 1.398_199_950_7e-3
        polynomial = polynomial * r + 8.333_451_907_3e-3
        polynomial = polynomial * r + 4.166_579_589_4e-2
        polynomial = polynomial * r + 1.666_666_545_9e-1
        polynomial = polynomial * r + 5.000_000_120_1e-1
        let mantissa = polynomial * r * r + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000) &<< 23
        var result = unsafeBitCast(unsafeBitCast(mantissa, to: SIMD16<Int32>.self) &+ exponent, to: Lanes.self)
        result.replace(with: value, where: value .!= value)
        return result
    }
}
