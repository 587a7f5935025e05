import SlideIO

extension Drawing {
    /// The drawing as RGB pixels (rows top to bottom), with text from the embedded bitmap font.
    public func raster() -> [UInt8] {
        var canvas = RasterCanvas(width: width, height: height)
        for shape in shapes {
            switch shape {
            case .line(let x0, let y0, let x1, let y1, let colour, let width, let dashed):
                canvas.line(x0, y0, x1, y1, colour, width: width, dashed: dashed)
            case .polyline(let points, let colour, let width):
                for (a, b) in zip(points, points.dropFirst()) { canvas.line(a.x, a.y, b.x, b.y, colour, width: width, dashed: false) }
            case .rectangle(let x, let y, let width, let height, let fill):
                canvas.fill(x: x, y: y, width: width, height: height, fill)
            case .circle(let x, let y, let radius, let fill):
                canvas.disc(x, y, radius, fill)
            case .text(let text, let x, let y, let anchor, let colour, let bold, let vertical):
                canvas.text(text, x: x, y: y, anchor: anchor, colour: colour, bold: bold, vertical: vertical)
            }
        }
        return canvas.pixels
    }

    /// Writes `raster()` as a PNG, published atomically.
    public func writePNG(to path: String) throws(SlideError) {
        try RGBImage(width: width, height: height, pixels: raster()).writePNG(to: path)
    }
}

/// Pixels under construction: lines as runs of small discs, text from `BitmapFont`.
private struct RasterCanvas {
    let width: Int, height: Int
    var pixels: [UInt8]
    let font = BitmapFont.dejaVuSansMono

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ colour: Drawing.Colour) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let index = (y * width + x) * 3
        (pixels[index], pixels[index + 1], pixels[index + 2]) = (colour.red, colour.green, colour.blue)
    }

    mutating func fill(x: Double, y: Double, width: Double, height: Double, _ colour: Drawing.Colour) {
        let left = Int(x.rounded()), top = Int(y.rounded())
        let right = Int((x + width).rounded()), bottom = Int((y + height).rounded())
        guard right > left, bottom > top else { return }
        for row in top..<bottom { for column in left..<right { set(column, row, colour) } }
    }

    mutating func disc(_ x: Double, _ y: Double, _ radius: Double, _ colour: Drawing.Colour) {
        let reach = Int(radius.rounded(.up))
        let centreX = Int(x.rounded()), centreY = Int(y.rounded())
        for dy in -reach...reach {
            for dx in -reach...reach where Double(dx * dx + dy * dy) <= radius * radius + 0.25 { set(centreX + dx, centreY + dy, colour) }
        }
    }

    /// Steps of half a pixel along the segment; dashes of 6 on, 4 off, as the SVG's dasharray.
    mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ colour: Drawing.Colour, width: Double, dashed: Bool) {
        let length = ((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0)).squareRoot()
        let steps = max(1, Int((length * 2).rounded(.up)))
        for step in 0...steps {
            let along = length * Double(step) / Double(steps)
            if dashed, along.truncatingRemainder(dividingBy: 10) >= 6 { continue }
            let t = Double(step) / Double(steps)
            let x = x0 + (x1 - x0) * t, y = y0 + (y1 - y0) * t
            if width <= 1.5 { set(Int(x.rounded()), Int(y.rounded()), colour) } else { disc(x, y, width / 2, colour) }
        }
    }

    /// `y` is the baseline. Vertical text is turned a quarter left: it reads bottom to top.
    mutating func text(_ text: String, x: Double, y: Double, anchor: Drawing.Anchor, colour: Drawing.Colour, bold: Bool, vertical: Bool) {
        let length = font.width(of: text)
        let shift = anchor == .start ? 0 : anchor == .middle ? length / 2 : length
        let originX = Int(x.rounded()), originY = Int(y.rounded())
        for (index, character) in text.enumerated() {
            for gy in 0..<font.cellHeight {
                for gx in 0..<font.cellWidth where font.ink(character, x: gx, y: gy) {
                    let u = index * font.cellWidth + gx - shift, v = gy - font.baseline
                    for thicken in 0...(bold ? 1 : 0) {
                        if vertical { set(originX + v, originY - u - thicken, colour) } else { set(originX + u + thicken, originY + v, colour) }
                    }
                }
            }
        }
    }
}
