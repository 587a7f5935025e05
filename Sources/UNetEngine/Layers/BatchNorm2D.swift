import UNetCore

/// BatchNorm2d parameters and running statistics (PyTorch's default ε = 1e-5).
struct BatchNorm2D: Sendable {
    var weight: [Float]
    var bias: [Float]
    var runningMean: [Float]
    var runningVariance: [Float]
    var epsilon: Float = 1e-5

    /// Reads `PREFIX.{weight,bias,running_mean,running_var}` from a validated state dict.
    init(_ tensors: [String: Tensor], prefix: String) {
        weight = tensors["\(prefix).weight"]!.scalars
        bias = tensors["\(prefix).bias"]!.scalars
        runningMean = tensors["\(prefix).running_mean"]!.scalars
        runningVariance = tensors["\(prefix).running_var"]!.scalars
    }

    /// Eval-mode BatchNorm as `x·scale + shift` per channel (computed in double precision).
    var affine: (scale: [Float], shift: [Float]) {
        let scale = weight.indices.map { Double(weight[$0]) / (Double(runningVariance[$0]) + Double(epsilon)).squareRoot() }
        return (scale.map { Float($0) }, weight.indices.map { Float(Double(bias[$0]) - Double(runningMean[$0]) * scale[$0]) })
    }
}
