/// How foreground becomes objects: one object per connected region, or regions split where they narrow
/// into touching nuclei. A model's metadata says which its output is made for (`objects` in its
/// `__metadata__`), so `unet segment`, `unet eval` and `unetd` need no flag.
public enum ObjectSeparation: Sendable, Equatable, Hashable, Codable {
    /// One object per 4-connected foreground region (a binary model, as trained before instance labels).
    case components
    /// A binary mask split at the saddles of its Euclidean distance transform (`--split-touching`): a
    /// region's peaks become separate objects when each rises `dynamic` pixels above the saddle between them.
    case distanceTransform(dynamic: Double)
    /// The model's output is a distance map (0 outside nuclei, 0.6 at a nucleus's edge rising to 1 at its
    /// centre); regions split at its saddles, peaks separate when each rises `dynamic` above the saddle.
    case distanceMap(dynamic: Double)

    /// `--split-touching` for a binary model: a neck 1.5 px narrower than both nuclei it joins.
    public static let splitTouching = ObjectSeparation.distanceTransform(dynamic: 1.5)
    /// What an instance model trained by `unet train` on instance labels records (0.1 scored best of
    /// 0.03–0.25 on held-out BBBC038 tiles, BENCHMARKS.md).
    public static let trainedDistanceMap = ObjectSeparation.distanceMap(dynamic: 0.1)

    /// The name in metadata and result.json.
    public var method: String {
        switch self {
        case .components: "components"
        case .distanceTransform: "distance-transform"
        case .distanceMap: "distance-map"
        }
    }

    public var dynamic: Double? {
        switch self {
        case .components: nil
        case .distanceTransform(let dynamic), .distanceMap(let dynamic): dynamic
        }
    }

    /// Whether regions are split at all.
    public var splits: Bool { self != .components }

    /// Parses `components`, `distance-transform` or `distance-map`, each optionally followed by
    /// `:DYNAMIC` (a positive number; default that of `splitTouching` or `trainedDistanceMap`).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let dynamic = parts.count == 2 ? Double(parts[1]).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } : nil
        guard !parts.isEmpty, parts.count == 1 || dynamic != nil else { return nil }
        switch parts[0] {
        case "components" where dynamic == nil: self = .components
        case "distance-transform": self = .distanceTransform(dynamic: dynamic ?? Self.splitTouching.dynamic!)
        case "distance-map": self = .distanceMap(dynamic: dynamic ?? Self.trainedDistanceMap.dynamic!)
        default: return nil
        }
    }

    enum CodingKeys: String, CodingKey { case method, dynamic }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let method = try container.decode(String.self, forKey: .method)
        let dynamic = try container.decodeIfPresent(Double.self, forKey: .dynamic)
        switch method {
        case "components": self = .components
        case "distance-transform": self = .distanceTransform(dynamic: dynamic ?? 1.5)
        case "distance-map": self = .distanceMap(dynamic: dynamic ?? 0.1)
        default:
            throw DecodingError.dataCorruptedError(forKey: .method, in: container,
                                                   debugDescription: "unknown object method \"\(method)\" (components, distance-transform, distance-map)")
        }
        if let dynamic, !(dynamic > 0 && dynamic.isFinite) {
            throw DecodingError.dataCorruptedError(forKey: .dynamic, in: container, debugDescription: "dynamic must be a positive number")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(method, forKey: .method)
        try container.encodeIfPresent(dynamic, forKey: .dynamic)
    }
}
