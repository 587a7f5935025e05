import UNetCore

/// Trains a U-Net: parameters, their Adam state, and the train-mode graph for one batch shape.
/// The public face of the training engine; `Training` drives it with data.
public final class UNetTrainer {
    public let architecture: UNetArchitecture
    public var parameters: ParameterSet
    public var optimizer: AdamOptimizer
    private let graph: UNetTrainingGraph

    public init(architecture: UNetArchitecture, stateDict: [String: Tensor], optimizer: AdamOptimizer?, learningRate: Float,
                batch: Int, tile: Int, threads: Int) throws(CheckpointProblem) {
        try architecture.validate(stateDict)
        self.architecture = architecture
        parameters = ParameterSet(architecture: architecture, stateDict: stateDict)
        self.optimizer = optimizer ?? AdamOptimizer(learningRate: learningRate, parameters: parameters)
        BLAS.threads = 1
        graph = UNetTrainingGraph(architecture: architecture, parameters: parameters, batch: batch, height: tile, width: tile, workers: threads)
    }

    public var batch: Int { graph.batch }

    /// One optimisation step on a batch `[batch, 3, tile, tile]` with targets `[batch, 1, tile, tile]`.
    public func step(images: UnsafePointer<Float>, targets: UnsafePointer<Float>, loss: TrainingLoss) -> Float {
        parameters.zeroGradients()
        let value = graph.step(images: images, targets: targets, loss: loss, parameters: &parameters)
        optimizer.update(&parameters)
        return value
    }

    /// The current weights as an inference network (BatchNorm folded with the running statistics).
    public func network() throws(CheckpointProblem) -> UNet { try UNet(stateDict: parameters.stateDict) }
}

extension UNetArchitecture {
    /// Fresh weights as PyTorch initialises them: conv and transposed-conv weights and biases
    /// U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5), BatchNorm γ = 1, β = 0, running stats 0 and 1.
    public func initialStateDict(using generator: inout some RandomNumberGenerator) -> [String: Tensor] {
        var dict: [String: Tensor] = [:]
        let shapes = parameterShapes
        func fanIn(_ key: String) -> Int {
            let weight = shapes.first { $0.key == key }!.shape
            return key.hasSuffix(".up.weight") ? weight[1] * 4 : weight.dropFirst().reduce(1, *)
        }
        for (key, shape) in shapes {
            let count = Tensor.elementCount(of: shape)
            let isNorm = key.contains("double_conv.1.") || key.contains("double_conv.4.")
            let values: [Float]
            if key.hasSuffix("running_var") || (isNorm && key.hasSuffix(".weight")) {
                values = [Float](repeating: 1, count: count)
            } else if key.hasSuffix("running_mean") || (isNorm && key.hasSuffix(".bias")) {
                values = [Float](repeating: 0, count: count)
            } else {
                let weightKey = key.hasSuffix(".bias") ? String(key.dropLast(4)) + "weight" : key
                let bound = 1 / Float(fanIn(weightKey)).squareRoot()
                values = (0..<count).map { _ in Float.random(in: -bound...bound, using: &generator) }
            }
            dict[key] = Tensor(shape: shape, scalars: values)
        }
        return dict
    }
}
