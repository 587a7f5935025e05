import UNetCore

/// The shape of a milesial-style U-Net: DoubleConv (Conv3×3→BN→ReLU twice) at every level, four
/// max-pool downs, four ups (bilinear or 2×2 transposed conv), and a 1×1 output convolution.
///
/// Encoder widths are w, 2w, 4w, 8w; the bottleneck is 16w with transposed ups and 8w with bilinear
/// ups (milesial's `factor`).
public struct UNetArchitecture: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Upsampling: String, Codable, Sendable { case bilinear, transposed }

    public var inputChannels: Int
    public var width: Int
    public var upsampling: Upsampling
    public var classes: Int
    /// Whether the 3×3 convolutions carry a bias (milesial's do not; other forks' do).
    public var convolutionBias: Bool

    public init(inputChannels: Int = 3, width: Int = 64, upsampling: Upsampling = .bilinear,
                classes: Int = 1, convolutionBias: Bool = false) {
        self.inputChannels = inputChannels
        self.width = width
        self.upsampling = upsampling
        self.classes = classes
        self.convolutionBias = convolutionBias
    }

    /// Number of 2× downsamplings; inputs whose sides are multiples of 2^depth need no padding.
    public static let depth = 4

    public var description: String {
        "U-Net width \(width), \(upsampling.rawValue) ups, \(classes) class\(classes == 1 ? "" : "es"), " +
            "\(inputChannels) input channels, conv bias \(convolutionBias ? "yes" : "no")"
    }

    enum CodingKeys: String, CodingKey {
        case inputChannels = "input_channels", width, upsampling, classes, convolutionBias = "conv_bias"
    }

    // MARK: blocks

    /// Channel counts of one DoubleConv and the PyTorch key prefix of its `double_conv` Sequential.
    struct DoubleConvShape {
        let prefix: String
        let input: Int, middle: Int, output: Int
    }

    /// One decoder stage: optional transposed conv (`in → in/2`), then a DoubleConv over the concat.
    struct UpShape {
        let name: String
        let input: Int
        let conv: DoubleConvShape
    }

    var encoderBlocks: [DoubleConvShape] {
        let w = width, factor = upsampling == .bilinear ? 2 : 1
        return [
            DoubleConvShape(prefix: "inc.double_conv", input: inputChannels, middle: w, output: w),
            DoubleConvShape(prefix: "down1.maxpool_conv.1.double_conv", input: w, middle: 2 * w, output: 2 * w),
            DoubleConvShape(prefix: "down2.maxpool_conv.1.double_conv", input: 2 * w, middle: 4 * w, output: 4 * w),
            DoubleConvShape(prefix: "down3.maxpool_conv.1.double_conv", input: 4 * w, middle: 8 * w, output: 8 * w),
            DoubleConvShape(prefix: "down4.maxpool_conv.1.double_conv", input: 8 * w, middle: 16 * w / factor, output: 16 * w / factor),
        ]
    }

    var decoderBlocks: [UpShape] {
        let w = width, factor = upsampling == .bilinear ? 2 : 1
        return [(1, 16 * w, 8 * w / factor), (2, 8 * w, 4 * w / factor), (3, 4 * w, 2 * w / factor), (4, 2 * w, w)]
            .map { index, input, output in
                let middle = upsampling == .bilinear ? input / 2 : output
                return UpShape(name: "up\(index)", input: input,
                               conv: DoubleConvShape(prefix: "up\(index).conv.double_conv", input: input, middle: middle, output: output))
            }
    }

    /// Every parameter and BatchNorm buffer PyTorch stores, by key, with its shape.
    public var parameterShapes: [(key: String, shape: [Int])] {
        var shapes: [(String, [Int])] = []
        func doubleConv(_ block: DoubleConvShape) {
            for (index, input, output) in [(0, block.input, block.middle), (3, block.middle, block.output)] {
                shapes.append(("\(block.prefix).\(index).weight", [output, input, 3, 3]))
                if convolutionBias { shapes.append(("\(block.prefix).\(index).bias", [output])) }
                for field in ["weight", "bias", "running_mean", "running_var"] {
                    shapes.append(("\(block.prefix).\(index + 1).\(field)", [output]))
                }
            }
        }
        encoderBlocks.forEach(doubleConv)
        for up in decoderBlocks {
            if upsampling == .transposed {
                shapes.append(("\(up.name).up.weight", [up.input, up.input / 2, 2, 2]))
                shapes.append(("\(up.name).up.bias", [up.input / 2]))
            }
            doubleConv(up.conv)
        }
        shapes.append(("outc.conv.weight", [classes, width, 1, 1]))
        shapes.append(("outc.conv.bias", [classes]))
        return shapes
    }

    /// Learnable parameters (BatchNorm running statistics excluded), as PyTorch counts them.
    public var parameterCount: Int {
        parameterShapes.filter { !$0.key.hasSuffix("running_mean") && !$0.key.hasSuffix("running_var") }
            .reduce(0) { $0 + Tensor.elementCount(of: $1.shape) }
    }
}
