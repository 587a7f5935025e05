import Foundation

/// Adam exactly as `torch.optim.Adam` computes it (no weight decay, no AMSGrad):
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `p ← p − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)`.
public struct AdamOptimizer: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public private(set) var step = 0
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]

    public init(learningRate: Float, parameters: ParameterSet) {
        self.learningRate = learningRate
        firstMoments = parameters.values.map { [Float](repeating: 0, count: $0.count) }
        secondMoments = firstMoments
    }

    /// Restores a saved state (resume).
    public init(learningRate: Float, step: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
        self.learningRate = learningRate
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    public mutating func update(_ parameters: inout ParameterSet) {
        step += 1
        let correction1 = 1 - pow(beta1, Float(step)), correction2Root = (1 - pow(beta2, Float(step))).squareRoot()
        let stepSize = learningRate / correction1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        for i in parameters.values.indices {
            let gradient = parameters.gradients[i]
            firstMoments[i].withUnsafeMutableBufferPointer { m in
                secondMoments[i].withUnsafeMutableBufferPointer { v in
                    parameters.values[i].withUnsafeMutableBufferPointer { p in
                        for j in 0..<p.count {
                            let g = gradient[j]
                            m[j] += (g - m[j]) * (1 - b1)
                            v[j] = v[j] * b2 + (1 - b2) * g * g
                            p[j] -= stepSize * m[j] / (v[j].squareRoot() / correction2Root + eps)
                        }
                    }
                }
            }
        }
    }
}
