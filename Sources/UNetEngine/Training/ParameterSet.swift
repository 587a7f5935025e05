import UNetCore

/// The trainable parameters of a U-Net under PyTorch's names and in `named_parameters()` order, with
/// their gradients, plus the BatchNorm running statistics (buffers, not trained).
public struct ParameterSet: Sendable {
    public private(set) var keys: [String]
    public private(set) var shapes: [[Int]]
    public var values: [[Float]]
    public var gradients: [[Float]]
    /// `running_mean` / `running_var` by key, and PyTorch's `num_batches_tracked` count.
    public var runningStatistics: [String: [Float]]
    public var batchesTracked: Int
    private var indexByKey: [String: Int]

    /// Takes parameters and running statistics from a validated state dict.
    public init(architecture: UNetArchitecture, stateDict: [String: Tensor]) {
        let parameters = architecture.parameterShapes.filter { !$0.key.contains("running_") }
        keys = parameters.map(\.key)
        shapes = parameters.map(\.shape)
        values = parameters.map { stateDict[$0.key]!.scalars }
        gradients = values.map { [Float](repeating: 0, count: $0.count) }
        runningStatistics = Dictionary(uniqueKeysWithValues: architecture.parameterShapes.filter { $0.key.contains("running_") }
            .map { ($0.key, stateDict[$0.key]!.scalars) })
        batchesTracked = 0
        indexByKey = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
    }

    public func index(of key: String) -> Int? { indexByKey[key] }

    public mutating func zeroGradients() {
        for i in gradients.indices { gradients[i].withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    /// Parameters and running statistics as a PyTorch-named state dict.
    public var stateDict: [String: Tensor] {
        var dict: [String: Tensor] = [:]
        for (i, key) in keys.enumerated() { dict[key] = Tensor(shape: shapes[i], scalars: values[i]) }
        for (key, value) in runningStatistics { dict[key] = Tensor(shape: [value.count], scalars: value) }
        return dict
    }
}
