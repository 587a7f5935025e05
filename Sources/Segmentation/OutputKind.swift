/// The files a segmented slide can produce, as named in `--outputs` and `outputs = [...]`.
public enum OutputKind: String, CaseIterable, Sendable, Codable, Comparable {
    /// Full-resolution PNG mask (0/255), written only while both sides are at most `largestPNGSide`.
    case mask
    /// The slide with the mask drawn on it, downscaled to a bounded size.
    case overlay
    /// Foreground probability as PNG, round(255·p).
    case prob
    /// QuPath-importable GeoJSON, one feature per object.
    case geojson
    /// One CSV row per object, in GeoJSON order.
    case objects
    /// The mask as a tiled, pyramidal TIFF.
    case pyramid

    /// `NAME` + this is the output's file name.
    public var suffix: String {
        switch self {
        case .mask: ".mask.png"
        case .overlay: ".overlay.png"
        case .prob: ".prob.png"
        case .geojson: ".geojson"
        case .objects: ".objects.csv"
        case .pyramid: ".mask.tif"
        }
    }

    /// Every output suffix, the summary's included (the daemon's outbox bookkeeping).
    public static let allSuffixes = allCases.map(\.suffix) + [summaryTableSuffix, summarySuffix]
    public static let summarySuffix = ".result.json"
    /// The slide's row of the directory's `summary.csv`, on its own.
    public static let summaryTableSuffix = ".summary.csv"

    /// Written when no list is given (plus `pyramid` for large slides, see `resolve`).
    public static let defaults: Set<OutputKind> = [.mask, .overlay, .geojson, .objects]
    /// Beyond this side a slide also gets the pyramid by default.
    public static let pyramidSide = 10_000
    /// Beyond this side no full-resolution PNG is written: `mask` means the pyramid.
    public static let largestPNGSide = 30_000

    /// Parses `mask,overlay,...`; names the unknown entry.
    public static func parseList(_ text: String) throws(OutputListProblem) -> Set<OutputKind> {
        var kinds: Set<OutputKind> = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let kind = OutputKind(rawValue: entry) else { throw OutputListProblem(entry: entry) }
            kinds.insert(kind)
        }
        guard !kinds.isEmpty else { throw OutputListProblem(entry: text) }
        return kinds
    }

    /// The outputs a slide of this size gets: `requested` (or the defaults), with `mask` turned into
    /// `pyramid` past `largestPNGSide`.
    public static func resolve(_ requested: Set<OutputKind>?, width: Int, height: Int) -> Set<OutputKind> {
        let side = max(width, height)
        var kinds = requested ?? defaults.union(side > pyramidSide ? [.pyramid] : [])
        if side > largestPNGSide, kinds.remove(.mask) != nil { kinds.insert(.pyramid) }
        return kinds
    }

    public static func < (a: OutputKind, b: OutputKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// An `--outputs` entry that is not an output kind.
public struct OutputListProblem: Error, CustomStringConvertible {
    public let entry: String
    public var description: String {
        "unknown output '\(entry)': choose from \(OutputKind.allCases.map(\.rawValue).joined(separator: ","))"
    }
}
