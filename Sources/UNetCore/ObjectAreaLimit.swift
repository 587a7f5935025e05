/// A bound on an object's area, in level-0 pixels or in µm² (`--min-object-area 10um2`, config
/// `min_object_area = "10um2"`). A µm² bound needs the slide's MPP to become pixels.
public enum ObjectAreaLimit: Sendable, Equatable, Hashable, CustomStringConvertible {
    case pixels(Double)
    case squareMicrons(Double)

    /// The default lower bound: 10 µm² when the slide's MPP is known, else 8 px (specks, not nuclei).
    public static let defaultMinimumMicrons = ObjectAreaLimit.squareMicrons(10)
    public static let defaultMinimumPixels = ObjectAreaLimit.pixels(8)

    /// Parses `10`, `10px`, `10um2`, `10µm2`, `10µm²` or `10 um^2`; nil when it is none of these or negative.
    public init?(_ text: String) {
        let compact = text.filter { !$0.isWhitespace }.lowercased()
        let units: [(String, Bool)] = [("um2", true), ("µm2", true), ("µm²", true), ("um^2", true), ("µm^2", true), ("px", false), ("", false)]
        for (suffix, microns) in units where compact.hasSuffix(suffix) {
            guard let value = Double(compact.dropLast(suffix.count)), value >= 0, value.isFinite else { continue }
            self = microns ? .squareMicrons(value) : .pixels(value)
            return
        }
        return nil
    }

    /// The bound in level-0 pixels at `micronsPerPixel` (x, y); nil for a µm² bound when the scale is unknown.
    public func pixels(micronsPerPixel: (x: Double, y: Double)?) -> Double? {
        switch self {
        case .pixels(let value): value
        case .squareMicrons(let value): micronsPerPixel.map { value / ($0.x * $0.y) }
        }
    }

    public var description: String {
        switch self {
        case .pixels(let value): "\(Self.format(value)) px"
        case .squareMicrons(let value): "\(Self.format(value)) µm²"
        }
    }

    private static func format(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value) }
}
