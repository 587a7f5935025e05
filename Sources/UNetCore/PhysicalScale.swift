import Foundation

/// A slide's physical pixel size in µm per pixel (MPP), and where it was read. Whole-slide tools
/// (QuPath, TIAToolbox, MONAI) all resample by slide MPP / model MPP; this is the slide half of that.
public struct PhysicalScale: Sendable, Equatable, Codable {
    /// Where an MPP value came from, in the order they are tried (a flag overrides them all).
    public enum Source: String, Sendable, Codable, CaseIterable {
        /// `|MPP = 0.2520|` in an Aperio ImageDescription.
        case aperio
        /// `PhysicalSizeX`/`PhysicalSizeY` of the first `Pixels` element of OME-XML in the ImageDescription.
        case ome
        /// XResolution/YResolution with ResolutionUnit inch or centimetre, when plausible.
        case tiffResolution = "tiff-resolution"
        /// `--slide-mpp` / `slide_mpp`.
        case flag
    }

    public var micronsPerPixelX: Double
    public var micronsPerPixelY: Double
    public var source: Source

    public init(micronsPerPixelX: Double, micronsPerPixelY: Double? = nil, source: Source) {
        self.micronsPerPixelX = micronsPerPixelX
        self.micronsPerPixelY = micronsPerPixelY ?? micronsPerPixelX
        self.source = source
    }

    /// Resolution tags outside this range are scanner or editor defaults (72 dpi is 352.8 µm/px), not a scale.
    public static let plausibleResolution = 0.05...100.0

    /// The scale the TIFF's tags declare: Aperio, then OME-XML (both in `description`), then the
    /// resolution tags (`unit`: 2 inch, 3 centimetre; anything else carries no physical size).
    public static func read(description: String?, xResolution: Double?, yResolution: Double?, resolutionUnit: Int?) -> PhysicalScale? {
        if let description {
            if let mpp = aperio(description) { return PhysicalScale(micronsPerPixelX: mpp, source: .aperio) }
            if let (x, y) = ome(description) { return PhysicalScale(micronsPerPixelX: x, micronsPerPixelY: y, source: .ome) }
        }
        return tiffResolution(x: xResolution, y: yResolution, unit: resolutionUnit)
    }

    /// `MPP = 0.2520` among the `|`-separated fields of an Aperio description.
    public static func aperio(_ description: String) -> Double? {
        guard description.hasPrefix("Aperio") else { return nil }
        for field in description.split(separator: "|") {
            let parts = field.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "MPP" else { continue }
            return positive(Double(parts[1].trimmingCharacters(in: .whitespaces)))
        }
        return nil
    }

    /// PhysicalSizeX/Y (in µm unless `PhysicalSizeXUnit`/`YUnit` say otherwise) of the first `<Pixels>` element.
    public static func ome(_ description: String) -> (x: Double, y: Double)? {
        guard description.contains("<OME"), let start = description.range(of: "<Pixels ")?.upperBound ?? description.range(of: ":Pixels ")?.upperBound,
              let end = description[start...].firstIndex(of: ">") else { return nil }
        let attributes = xmlAttributes(description[start..<end])
        func size(_ axis: String) -> Double? {
            guard let value = positive(attributes["PhysicalSize\(axis)"].flatMap(Double.init)),
                  let microns = micronsPerUnit[attributes["PhysicalSize\(axis)Unit"] ?? "µm"] else { return nil }
            return value * microns
        }
        guard let x = size("X") else { return nil }
        return (x, size("Y") ?? x)
    }

    /// µm per pixel from resolution tags, or nil when absent, unitless or implausible.
    public static func tiffResolution(x: Double?, y: Double?, unit: Int?) -> PhysicalScale? {
        let micronsPerUnit: Double
        switch unit {
        case 2: micronsPerUnit = 25_400
        case 3: micronsPerUnit = 10_000
        default: return nil
        }
        guard let x = positive(x) else { return nil }
        let mppX = micronsPerUnit / x, mppY = positive(y).map { micronsPerUnit / $0 } ?? mppX
        guard plausibleResolution.contains(mppX), plausibleResolution.contains(mppY) else { return nil }
        return PhysicalScale(micronsPerPixelX: mppX, micronsPerPixelY: mppY, source: .tiffResolution)
    }

    /// OME's UnitsLength symbols, in µm.
    static let micronsPerUnit: [String: Double] = [
        "µm": 1, "um": 1, "μm": 1, "micron": 1, "nm": 1e-3, "Å": 1e-4, "mm": 1e3, "cm": 1e4, "m": 1e6,
    ]

    private static func positive(_ value: Double?) -> Double? {
        guard let value, value.isFinite, value > 0 else { return nil }
        return value
    }

    /// `name="value"` pairs of one XML start tag (no entity decoding: the values read here are numbers and unit symbols).
    private static func xmlAttributes(_ tag: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var rest = tag[...]
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].split(whereSeparator: \.isWhitespace).last.map(String.init) ?? ""
            var valueStart = rest.index(after: equals)
            guard valueStart < rest.endIndex, rest[valueStart] == "\"" || rest[valueStart] == "'" else { break }
            let quote = rest[valueStart]
            valueStart = rest.index(after: valueStart)
            guard let valueEnd = rest[valueStart...].firstIndex(of: quote) else { break }
            result[name] = String(rest[valueStart..<valueEnd])
            rest = rest[rest.index(after: valueEnd)...]
        }
        return result
    }
}
