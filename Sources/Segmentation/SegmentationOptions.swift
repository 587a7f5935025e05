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
    /// Files to write; nil: `OutputKind.defaults` (plus the pyramid for large slides). `writeProbabilities` adds `prob`.
    public var outputs: Set<OutputKind>?
    /// Physical scale: `auto` resamples by slide MPP / model MPP when both are known; `off` ignores MPP.
    public var mpp: MPPMode
    /// The slide's µm per pixel, overriding what its file says (`--slide-mpp`).
    public var slideMPP: Double?
    /// Refuse a slide (under `auto`) when the slide's or the model's MPP is unknown, instead of warning.
    public var requireMPP: Bool
    /// QuPath object type of GeoJSON features.
    public var objectType: ObjectDescription.ObjectType
    /// Objects smaller than this are left out of the GeoJSON, the CSV and the count; nil: 10 µm² when the
    /// slide's MPP is known, else 8 px.
    public var minimumObjectArea: ObjectAreaLimit?
    /// Objects larger than this are left out too; nil: no upper bound.
    public var maximumObjectArea: ObjectAreaLimit?
    /// Split a binary model's touching regions at the saddles of their distance transform. Models whose
    /// metadata names their own separation (instance models) use that instead.
    public var splitTouching: Bool

    public init(tile: Int = 512, overlap: Int = 32, threshold: Float? = nil, channelOrder: ChannelOrder? = nil,
                inputScale: Double? = nil, writeProbabilities: Bool = false, threads: Int = 2,
                overlayMaximumSide: Int = 8192, skipBackground: Bool = false, limits: SlideLimits = SlideLimits(),
                truth: GroundTruthOptions = GroundTruthOptions(), outputs: Set<OutputKind>? = nil, mpp: MPPMode = .auto,
                slideMPP: Double? = nil, requireMPP: Bool = false, objectType: ObjectDescription.ObjectType = .detection,
                minimumObjectArea: ObjectAreaLimit? = nil, maximumObjectArea: ObjectAreaLimit? = nil, splitTouching: Bool = false) {
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
        self.outputs = outputs
        self.mpp = mpp
        self.slideMPP = slideMPP
        self.requireMPP = requireMPP
        self.objectType = objectType
        self.minimumObjectArea = minimumObjectArea
        self.maximumObjectArea = maximumObjectArea
        self.splitTouching = splitTouching
    }
}

/// Whether physical scale decides the scale the network sees a slide at.
public enum MPPMode: String, Sendable, CaseIterable, Codable {
    case auto, off
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
