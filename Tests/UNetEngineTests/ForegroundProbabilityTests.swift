import Foundation
import Testing
@testable import UNetEngine

/// The vector sigmoid against libm's, over the whole range a logit takes and beyond.
@Suite struct ForegroundProbabilityTests {
    /// Logits from -120 to 120 in steps that hit no lane pattern, plus the edges of the clamp.
    static let logits: [Float] = stride(from: Float(-120), through: 120, by: 0.0137).map { $0 } + [-88, -86, -0, 0, 86, 88, 1e-8, -1e-8]

    @Test func theExponentialIsWithinTwoUlpOfLibm() {
        for start in stride(from: 0, to: Self.logits.count - 16, by: 16) {
            let x = SIMD16<Float>(Self.logits[start..<(start + 16)])
            let e = ForegroundProbability.exponential(x)
            for lane in 0..<16 where abs(x[lane]) <= 86 {
                let expected = Foundation.exp(x[lane])
                #expect(abs(e[lane] - expected) <= 2 * expected.ulp, "e^\(x[lane]): \(e[lane]) against \(expected)")
            }
        }
    }

    @Test func theSigmoidMatchesLibmsOnBothSidesOfOneHalf() {
        let logits = Self.logits
        var probabilities = [Float](repeating: -1, count: logits.count)
        logits.withUnsafeBufferPointer { source in
            probabilities.withUnsafeMutableBufferPointer { destination in
                ForegroundProbability.compute(logits: source.baseAddress!, classes: 1, plane: logits.count, into: destination.baseAddress!)
            }
        }
        for (x, p) in zip(logits, probabilities) {
            let expected = 1 / (1 + Foundation.exp(-x))
            #expect(abs(p - expected) <= 2e-7, "sigmoid(\(x)): \(p) against \(expected)")
            #expect((p >= 0.5) == (expected >= 0.5), "sigmoid(\(x)) = \(p) is on the other side of 0.5 from \(expected)")
        }
    }

    /// Any split of the plane (one per thread count) gives each pixel the same bits, the padded last
    /// lanes included; a NaN logit stays NaN.
    @Test func everySplitGivesTheSameBits() {
        var logits = Array(Self.logits.prefix(101))
        logits[7] = .nan
        func probabilities(cuts: [Int]) -> [Float] {
            var out = [Float](repeating: -1, count: logits.count)
            let bounds = [0] + cuts + [logits.count]
            logits.withUnsafeBufferPointer { source in
                out.withUnsafeMutableBufferPointer { destination in
                    for (start, end) in zip(bounds, bounds.dropFirst()) {
                        ForegroundProbability.compute(logits: source.baseAddress!, classes: 1, plane: logits.count,
                                                      into: destination.baseAddress!, pixels: start..<end)
                    }
                }
            }
            return out
        }
        let whole = probabilities(cuts: [])
        #expect(whole[7].isNaN)
        for cuts in [[1], [17, 50], [3, 4, 5, 99], [64]] {
            let split = probabilities(cuts: cuts)
            #expect(zip(whole, split).allSatisfy { $0.bitPattern == $1.bitPattern }, "cuts \(cuts)")
        }
    }
}
