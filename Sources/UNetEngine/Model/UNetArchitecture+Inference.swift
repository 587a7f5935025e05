import UNetCore

extension UNetArchitecture {
    /// Largest width, class count and input channel count a model file may declare.
    public static let maximumChannels = 1 << 16

    /// Infers width, up mode, bias and classes from a state dict's keys and shapes, then checks every
    /// tensor against that architecture. Anything missing, extra or of the wrong shape is an error
    /// that names the key (and both shapes).
    public static func inferred(from tensors: [String: Tensor]) throws(CheckpointProblem) -> UNetArchitecture {
        guard let first = tensors["inc.double_conv.0.weight"], first.shape.count == 4 else {
            let sample = tensors.keys.sorted().prefix(4).joined(separator: ", ")
            throw CheckpointProblem("unknown layout: not a milesial-style U-Net state dict (no 4-D inc.double_conv.0.weight; keys begin \(sample.isEmpty ? "<none>" : sample))")
        }
        guard let output = tensors["outc.conv.weight"], output.shape.count == 4 else {
            throw CheckpointProblem("unknown layout: U-Net state dict without a 4-D outc.conv.weight")
        }
        let architecture = UNetArchitecture(
            inputChannels: first.shape[1], width: first.shape[0],
            upsampling: tensors["up1.up.weight"] == nil ? .bilinear : .transposed,
            classes: output.shape[0], convolutionBias: tensors["inc.double_conv.0.bias"] != nil)
        guard architecture.width > 0, architecture.classes > 0, architecture.inputChannels > 0 else {
            throw CheckpointProblem("degenerate U-Net: width \(architecture.width), \(architecture.classes) classes")
        }
        // Bounds the arithmetic on them below (16 × width, ...): a file's zero-element tensors can claim any size.
        guard [architecture.width, architecture.classes, architecture.inputChannels].allSatisfy({ $0 <= maximumChannels }) else {
            throw CheckpointProblem("implausible U-Net: width \(architecture.width), \(architecture.classes) classes, \(architecture.inputChannels) input channels (at most \(maximumChannels) each)")
        }
        try architecture.validate(tensors)
        return architecture
    }

    /// Checks that `tensors` holds exactly this architecture's parameters with finite values.
    public func validate(_ tensors: [String: Tensor]) throws(CheckpointProblem) {
        let expected = parameterShapes
        for (key, shape) in expected {
            guard let tensor = tensors[key] else {
                throw CheckpointProblem("missing tensor \(key) (expected shape \(shape) for a \(self))")
            }
            guard tensor.shape == shape else {
                throw CheckpointProblem("tensor \(key) has shape \(tensor.shape) but a \(self) needs \(shape)")
            }
            guard tensor.isFinite else { throw CheckpointProblem("tensor \(key) contains NaN or infinite values") }
        }
        let known = Set(expected.map(\.key))
        if let extra = tensors.keys.sorted().first(where: { !known.contains($0) && !$0.hasSuffix("num_batches_tracked") }) {
            throw CheckpointProblem("unexpected tensor \(extra) (shape \(tensors[extra]!.shape)) for a \(self)")
        }
    }
}
