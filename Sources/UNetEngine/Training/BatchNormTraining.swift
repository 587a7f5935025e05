/// BatchNorm2d in training mode followed by ReLU: batch statistics over N·H·W per channel, running
/// statistics updated as PyTorch does (momentum 0.1, unbiased variance for `running_var`).
enum BatchNormTraining {
    static let momentum: Float = 0.1
    static let epsilon: Float = 1e-5

    /// `post = relu(γ·(pre − μ)/√(σ²+ε) + β)`; returns μ and 1/√(σ²+ε) per channel.
    static func forward(_ pre: UnsafeMutablePointer<Float>, _ post: UnsafeMutablePointer<Float>, batch: Int, channels: Int, plane: Int,
                        weight: [Float], bias: [Float], runningMean: inout [Float], runningVariance: inout [Float])
        -> (mean: [Float], inverseStd: [Float]) {
        var means = [Float](repeating: 0, count: channels), inverse = means
        let count = batch * plane
        for c in 0..<channels {
            var sum = 0.0, squares = 0.0
            for n in 0..<batch {
                let values = pre + (n * channels + c) * plane
                for i in 0..<plane { let v = Double(values[i]); sum += v; squares += v * v }
            }
            let mean = sum / Double(count)
            let variance = max(squares / Double(count) - mean * mean, 0)
            means[c] = Float(mean)
            inverse[c] = Float(1 / (variance + Double(epsilon)).squareRoot())
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * Float(mean)
            runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * Float(variance * Double(count) / Double(max(count - 1, 1)))
            let scale = weight[c] * inverse[c], shift = bias[c] - means[c] * scale
            for n in 0..<batch {
                let source = pre + (n * channels + c) * plane, destination = post + (n * channels + c) * plane
                for i in 0..<plane { destination[i] = max(source[i] * scale + shift, 0) }
            }
        }
        return (means, inverse)
    }

    /// Turns d loss / d post (in `gradient`) into d loss / d pre, in place, through ReLU and BatchNorm;
    /// accumulates dγ and dβ.
    static func backward(_ gradient: UnsafeMutablePointer<Float>, pre: UnsafePointer<Float>, post: UnsafePointer<Float>,
                         batch: Int, channels: Int, plane: Int, weight: [Float], mean: [Float], inverseStd: [Float],
                         weightGradient: inout [Float], biasGradient: inout [Float]) {
        let count = Float(batch * plane)
        for c in 0..<channels {
            var sumGradient: Float = 0, sumGradientNormalised: Float = 0
            let m = mean[c], s = inverseStd[c]
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                let g = gradient + offset, x = pre + offset, y = post + offset
                for i in 0..<plane {
                    if y[i] <= 0 { g[i] = 0 }  // ReLU
                    sumGradient += g[i]
                    sumGradientNormalised += g[i] * (x[i] - m) * s
                }
            }
            weightGradient[c] += sumGradientNormalised
            biasGradient[c] += sumGradient
            let factor = weight[c] * s / count
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                let g = gradient + offset, x = pre + offset
                for i in 0..<plane {
                    g[i] = factor * (count * g[i] - sumGradient - (x[i] - m) * s * sumGradientNormalised)
                }
            }
        }
    }
}
