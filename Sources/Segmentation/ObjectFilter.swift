import UNetCore

/// Which objects a slide lists and how they were found, as `result.json` records it (`object_filter`):
/// the separation method, the area bounds asked for and in pixels, and how many objects each bound dropped.
public struct ObjectFilter: Codable, Sendable, Equatable {
    /// `components`, `distance-transform` (`--split-touching`) or `distance-map` (an instance model).
    public var method: String
    public var dynamic: Double?
    /// The bounds as given (`10 µm²`, `8 px`) and in level-0 pixels.
    public var minimumArea: String
    public var minimumAreaPixels: Double
    public var maximumArea: String?
    public var maximumAreaPixels: Double?
    public var droppedSmall = 0
    public var droppedLarge = 0
    /// Regions too large to split, listed whole.
    public var unsplitRegions = 0

    enum CodingKeys: String, CodingKey {
        case method, dynamic, minimumArea = "min_area", minimumAreaPixels = "min_area_px", maximumArea = "max_area"
        case maximumAreaPixels = "max_area_px", droppedSmall = "dropped_small", droppedLarge = "dropped_large"
        case unsplitRegions = "unsplit_regions"
    }

    /// Resolves the options against the slide's scale: the default lower bound is 10 µm² when the MPP is
    /// known, 8 px when not; a µm² bound without an MPP falls back (minimum) or is dropped (maximum), with a warning.
    static func resolve(minimum: ObjectAreaLimit?, maximum: ObjectAreaLimit?, separation: ObjectSeparation,
                        scale: PhysicalScale?, warnings: inout [String]) -> ObjectFilter {
        let mpp = scale.map { (x: $0.micronsPerPixelX, y: $0.micronsPerPixelY) }
        var lower = minimum ?? (mpp == nil ? .defaultMinimumPixels : .defaultMinimumMicrons)
        if lower.pixels(micronsPerPixel: mpp) == nil {
            warnings.append("minimum object area \(lower) needs the slide's µm per pixel; used \(ObjectAreaLimit.defaultMinimumPixels) (give --slide-mpp)")
            lower = .defaultMinimumPixels
        }
        var upper = maximum
        if let bound = upper, bound.pixels(micronsPerPixel: mpp) == nil {
            warnings.append("maximum object area \(bound) needs the slide's µm per pixel; no upper bound applied (give --slide-mpp)")
            upper = nil
        }
        return ObjectFilter(method: separation.method, dynamic: separation.dynamic, minimumArea: lower.description,
                            minimumAreaPixels: lower.pixels(micronsPerPixel: mpp)!, maximumArea: upper?.description,
                            maximumAreaPixels: upper?.pixels(micronsPerPixel: mpp))
    }
}
