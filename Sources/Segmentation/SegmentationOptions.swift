import SlideIO
import UNetCore

/// How `unet segment` and `unetd` turn one slide into outputs. Every field has a working default;
/// `nil` means "take it from the model's metadata".
public struct SegmentationOptions: Sendable {
    /// Largest tile side the network sees; tiles are balanced to the slide (see `TileGrid`).
    public var tile: Int
    /// Minimum overlap between neighbouring tiles, in network pixels.
    public var overlap: Int
    public var threshold: Float?
    public var channelOrder: ChannelOrder?
    public var inputScale: Double?
    public var writeProbabilities: Bool
    public var threads: Int
    /// Overlays larger than this on their longer side are downscaled by an integer factor.
    public var overlayMaximumSide: Int
    /// Skip tiles that hold no tissue (Otsu threshold on saturation from a subsampled pass).
    public var skipBackground: Bool
    public var limits: SlideLimits
    public var truth: GroundTruthOptions

    public init(tile: Int = 512, overlap: Int = 32, threshold: Float? = nil, channelOrder: ChannelOrder? = nil,
                inputScale: Double? = nil, writeProbabilities: Bool = false, threads: Int = 2,
                overlayMaximumSide: Int = 8192, skipBackground: Bool = false, limits: SlideLimits = SlideLimits(),
                truth: GroundTruthOptions = GroundTruthOptions()) {
        self.tile = tile
        self.overlap = overlap
        self.threshold = threshold
        self.channelOrder = channelOrder
        self.inputScale = inputScale
        self.writeProbabilities = writeProbabilities
        self.threads = threads
        self.overlayMaximumSide = overlayMaximumSide
        self.skipBackground = skipBackground
        self.limits = limits
        self.truth = truth
    }
}

/// Where ground truth comes from and how BreCaHAD points become a mask.
public struct GroundTruthOptions: Sendable {
    /// Explicit truth file (BreCaHAD `.json` or a mask `.png`); otherwise `NAME.json` or
    /// `NAME.truth.png` beside the slide is used when present.
    public var path: String?
    /// BreCaHAD classes drawn as foreground.
    public var classes: [String]
    /// Radius of the filled circle drawn at each BreCaHAD point, in slide pixels.
    public var radius: Int

    public init(path: String? = nil, classes: [String] = ["tumor"], radius: Int = 20) {
        self.path = path
        self.classes = classes
        self.radius = radius
    }
}
