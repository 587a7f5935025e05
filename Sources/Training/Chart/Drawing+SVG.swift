import Foundation

extension Drawing {
    /// The drawing as a standalone SVG 1.1 document (text as `<text>`, so it can be read and searched).
    public func svg(title: String) -> String {
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
            font-family="DejaVu Sans Mono, monospace" font-size="\(Self.fontSize)">
            <title>\(Self.escape(title))</title>
            <rect x="0" y="0" width="\(width)" height="\(height)" fill="#ffffff"/>

            """
        for shape in shapes {
            switch shape {
            case .line(let x0, let y0, let x1, let y1, let colour, let width, let dashed):
                out += "<line x1=\"\(Self.number(x0))\" y1=\"\(Self.number(y0))\" x2=\"\(Self.number(x1))\" y2=\"\(Self.number(y1))\" "
                    + "stroke=\"\(colour.hex)\" stroke-width=\"\(Self.number(width))\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            case .polyline(let points, let colour, let width):
                let list = points.map { "\(Self.number($0.x)),\(Self.number($0.y))" }.joined(separator: " ")
                out += "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(colour.hex)\" stroke-width=\"\(Self.number(width))\"/>\n"
            case .rectangle(let x, let y, let width, let height, let fill):
                out += "<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"\(fill.hex)\"/>\n"
            case .circle(let x, let y, let radius, let fill):
                out += "<circle cx=\"\(Self.number(x))\" cy=\"\(Self.number(y))\" r=\"\(Self.number(radius))\" fill=\"\(fill.hex)\"/>\n"
            case .text(let text, let x, let y, let anchor, let colour, let bold, let vertical):
                let rotation = vertical ? " transform=\"rotate(-90 \(Self.number(x)) \(Self.number(y)))\"" : ""
                out += "<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(colour.hex)\""
                    + "\(bold ? " font-weight=\"bold\"" : "")\(rotation)>\(Self.escape(text))</text>\n"
            }
        }
        return out + "</svg>\n"
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

extension Drawing.Colour {
    var hex: String { String(format: "#%02x%02x%02x", red, green, blue) }
}
