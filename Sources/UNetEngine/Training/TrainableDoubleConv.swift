import UNetCore

/// A DoubleConv in training mode: (Conv3×3 → BatchNorm with batch statistics → ReLU) twice, keeping
/// what backward needs. The convolutions are the inference `Conv2D` built over the current parameters.
final class TrainableDoubleConv {
    let shape: UNetArchitecture.DoubleConvShape
    let batch: Int, height: Int, width: Int
    /// Parameter indices: [conv0.weight, conv0.bias?, bn1.weight, bn1.bias, conv3.weight, conv3.bias?, bn4.weight, bn4.bias]
    private let convWeight: [Int], convBias: [Int?], normWeight: [Int], normBias: [Int]
    private let normPrefix: [String]
    /// Pre-BN convolution outputs and post-ReLU activations of both halves; `output` is the block output.
    private let z1: FloatBuffer, a1: FloatBuffer, z2: FloatBuffer
    let output: FloatBuffer
    /// Gradient scratch: d/d(middle activation).
    private let middleGradient: FloatBuffer
    private var mean: [[Float]] = [[], []], inverseStd: [[Float]] = [[], []]

    init(shape: UNetArchitecture.DoubleConvShape, parameters: ParameterSet, batch: Int, height: Int, width: Int) {
        self.shape = shape
        self.batch = batch
        self.height = height
        self.width = width
        convWeight = [0, 3].map { parameters.index(of: "\(shape.prefix).\($0).weight")! }
        convBias = [0, 3].map { parameters.index(of: "\(shape.prefix).\($0).bias") }
        normWeight = [1, 4].map { parameters.index(of: "\(shape.prefix).\($0).weight")! }
        normBias = [1, 4].map { parameters.index(of: "\(shape.prefix).\($0).bias")! }
        normPrefix = [1, 4].map { "\(shape.prefix).\($0)" }
        let plane = height * width
        z1 = FloatBuffer(batch * shape.middle * plane)
        a1 = FloatBuffer(batch * shape.middle * plane)
        z2 = FloatBuffer(batch * shape.output * plane)
        output = FloatBuffer(batch * shape.output * plane)
        middleGradient = FloatBuffer(batch * shape.middle * plane)
    }

    func conv(_ half: Int, _ parameters: ParameterSet) -> Conv2D {
        let (input, output) = half == 0 ? (shape.input, shape.middle) : (shape.middle, shape.output)
        return Conv2D(weight: Tensor(shape: [output, input, 3, 3], scalars: parameters.values[convWeight[half]]),
                      bias: convBias[half].map { Tensor(shape: [output], scalars: parameters.values[$0]) })
    }

    var convolutions: [(input: Int, output: Int)] { [(shape.input, shape.middle), (shape.middle, shape.output)] }

    func forward(_ input: UnsafePointer<Float>, parameters: inout ParameterSet, context: TrainingContext) {
        let plane = height * width
        for half in 0..<2 {
            let conv = self.conv(half, parameters)
            let source = half == 0 ? input : UnsafePointer(a1.pointer)
            let (pre, post) = half == 0 ? (z1, a1) : (z2, output)
            context.forEachImage(batch) { worker, n in
                conv.forward(input: source + n * conv.inputChannels * plane, height: height, width: width,
                             output: pre.pointer + n * conv.outputChannels * plane, relu: false,
                             scratch: context.columns(worker), columnsPerWorker: context.columnCapacity, parallel: context.serial)
            }
            let meanKey = "\(normPrefix[half]).running_mean", varianceKey = "\(normPrefix[half]).running_var"
            var runningMean = parameters.runningStatistics[meanKey]!, runningVariance = parameters.runningStatistics[varianceKey]!
            let stats = BatchNormTraining.forward(pre.pointer, post.pointer, batch: batch, channels: conv.outputChannels, plane: plane,
                                                  weight: parameters.values[normWeight[half]], bias: parameters.values[normBias[half]],
                                                  runningMean: &runningMean, runningVariance: &runningVariance)
            parameters.runningStatistics[meanKey] = runningMean
            parameters.runningStatistics[varianceKey] = runningVariance
            mean[half] = stats.mean
            inverseStd[half] = stats.inverseStd
        }
    }

    /// Backward from `outputGradient` (d loss / d output, overwritten as scratch); accumulates parameter
    /// gradients and writes d loss / d input into `inputGradient` when given.
    func backward(_ input: UnsafePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                  inputGradient: UnsafeMutablePointer<Float>?, parameters: inout ParameterSet, context: TrainingContext) {
        let plane = height * width
        for half in [1, 0] {
            let conv = self.conv(half, parameters)
            let (pre, post) = half == 0 ? (z1, a1) : (z2, output)
            let gradient = half == 1 ? outputGradient : middleGradient.pointer
            var weightGradient = parameters.gradients[normWeight[half]], biasGradient = parameters.gradients[normBias[half]]
            BatchNormTraining.backward(gradient, pre: pre.pointer, post: post.pointer, batch: batch, channels: conv.outputChannels, plane: plane,
                                       weight: parameters.values[normWeight[half]], mean: mean[half], inverseStd: inverseStd[half],
                                       weightGradient: &weightGradient, biasGradient: &biasGradient)
            parameters.gradients[normWeight[half]] = weightGradient
            parameters.gradients[normBias[half]] = biasGradient
            let source = half == 0 ? input : UnsafePointer(a1.pointer)
            let target = half == 1 ? middleGradient.pointer : inputGradient
            context.convolutionBackward(conv, input: source, outputGradient: UnsafePointer(gradient), inputGradient: target,
                                        batch: batch, height: height, width: width,
                                        weightGradient: convWeight[half], biasGradient: convBias[half], parameters: &parameters)
        }
    }
}
