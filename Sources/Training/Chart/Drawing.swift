/// A chart as plain shapes in pixel coordinates (origin top left), written out as SVG or rasterised
/// to PNG from the same list, so both pictures carry the same lines and words.
public struct Drawing: Sendable {
    public struct Colour: Sendable, Equatable {
        public var red: UInt8, green: UInt8, blue: UInt8
        public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) { (self.red, self.green, self.blue) = (red, green, blue) }

        public static let black = Colour(0, 0, 0), white = Colour(255, 255, 255), grid = Colour(225, 225, 225)
        public static let grey = Colour(120, 120, 120), red = Colour(205, 45, 40), blue = Colour(40, 90, 200)
        public static let green = Colour(30, 140, 60), purple = Colour(140, 50, 170)
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    public enum Shape: Sendable {
        case line(x0: Double, y0: Double, x1: Double, y1: Double, colour: Colour, width: Double, dashed: Bool)
        case polyline([(x: Double, y: Double)], colour: Colour, width: Double)
        case rectangle(x: Double, y: Double, width: Double, height: Double, fill: Colour)
        case circle(x: Double, y: Double, radius: Double, fill: Colour)
        /// `y` is the baseline; `vertical` text reads bottom to top (a y-axis title).
        case text(String, x: Double, y: Double, anchor: Anchor, colour: Colour, bold: Bool, vertical: Bool)
    }

    public let width: Int, height: Int
    public private(set) var shapes: [Shape] = []
    /// Text size in pixels (the PNG's font cell height).
    public static let fontSize = 13.0

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public mutating func add(_ shape: Shape) { shapes.append(shape) }

    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ colour: Colour = .black,
                              width: Double = 1, dashed: Bool = false) {
        add(.line(x0: x0, y0: y0, x1: x1, y1: y1, colour: colour, width: width, dashed: dashed))
    }

    public mutating func text(_ text: String, _ x: Double, _ y: Double, anchor: Anchor = .start, colour: Colour = .black,
                              bold: Bool = false, vertical: Bool = false) {
        add(.text(text, x: x, y: y, anchor: anchor, colour: colour, bold: bold, vertical: vertical))
    }

    /// `text` shortened in the middle (`...`) to fit `width` pixels of the PNG's font.
    public static func fitted(_ text: String, width: Double) -> String {
        let limit = Int(width / Double(BitmapFont.dejaVuSansMono.cellWidth))
        guard text.count > limit, limit > 5 else { return text }
        let keep = limit - 3
        return String(text.prefix(keep - keep / 2)) + "..." + String(text.suffix(keep / 2))
    }

    /// Every text in drawing order (what a reader of either picture sees).
    public var texts: [String] {
        shapes.compactMap { if case .text(let text, _, _, _, _, _, _) = $0 { text } else { nil } }
    }
}
