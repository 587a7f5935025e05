/// Order of the colour channels the network expects at its input.
public enum ChannelOrder: String, Codable, Sendable, CaseIterable {
    case rgb, bgr
}

/// How 8-bit pixels become network input: `(pixel * scale - mean[c]) / std[c]`, channels in `channelOrder`.
///
/// The reference BreCaHAD project fed its network BGR (an OpenCV conversion applied to an image that
/// was already RGB), so its checkpoints want `.bgr`.
public struct Preprocessing: Codable, Sendable, Equatable {
    public var channelOrder: ChannelOrder
    public var scale: Float
    /// Per-channel mean subtracted after scaling, in network channel order; nil means none.
    public var mean: [Float]?
    /// Per-channel standard deviation divided after subtracting the mean; nil means none.
    public var std: [Float]?

    public init(channelOrder: ChannelOrder = .rgb, scale: Float = 1.0 / 255.0,
                mean: [Float]? = nil, std: [Float]? = nil) {
        self.channelOrder = channelOrder
        self.scale = scale
        self.mean = mean
        self.std = std
    }

    enum CodingKeys: String, CodingKey {
        case channelOrder = "channel_order", scale, mean, std
    }
}
