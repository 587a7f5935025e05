import UNetCore

/// An image served as Deep Zoom tiles (`DeepZoomGrid`): a slide read from the pyramid page nearest
/// each tile's resolution (never a coarser one), or a mask PNG held whole, then area-averaged down to
/// the tile. A tile never reads more than `readBudget` pixels: `minimumLevel` is the coarsest level
/// that holds to it (0 wherever the file has a pyramid, or is small). Not thread-safe.
public final class DeepZoomSource {
    public let path: String
    public let grid: DeepZoomGrid
    /// The most source pixels one tile may read (12 MiB of RGB).
    public static let readBudget = 2048 * 2048
    /// The coarsest level whose tiles read at most `readBudget` pixels.
    public let minimumLevel: Int

    /// A page of the pyramid and the image pixels per page pixel.
    private struct Level { let page: TIFFSlide.Page; let downsample: Double }
    private let levels: [Level]
    private var opened: [Int: TIFFSlide] = [:]
    /// A mask PNG's pixels, one byte each.
    private let wholeGray: [UInt8]?

    /// A TIFF slide with the pyramid pages it has (reduced pages of the base page's aspect ratio;
    /// label and macro images are not levels).
    public init(tiff path: String) throws(SlideError) {
        self.path = path
        let base = try TIFFSlide(path: path)
        let all = try TIFFSlide.pages(path: path)
        guard let basePage = all.first(where: { $0.index == base.page }) else { throw SlideError(path: path, reason: "no page \(base.page)") }
        var levels = [Level(page: basePage, downsample: 1)]
        for page in all where page.index != basePage.index && page.width < basePage.width && page.height < basePage.height {
            let across = Double(basePage.width) / Double(page.width), down = Double(basePage.height) / Double(page.height)
            if abs(across - down) / across < 0.02 { levels.append(Level(page: page, downsample: (across + down) / 2)) }
        }
        self.levels = levels.sorted { $0.downsample < $1.downsample }
        opened[base.page] = base
        wholeGray = nil
        grid = DeepZoomGrid(width: basePage.width, height: basePage.height)
        minimumLevel = Self.minimumLevel(grid, downsamples: self.levels.map(\.downsample))
    }

    /// A gray PNG (a mask), decoded whole, a byte a pixel: only for masks small enough to hold (`maximumPixels`).
    public init(png path: String, maximumPixels: Int) throws(SlideError) {
        self.path = path
        let (width, height, gray) = try PNGImage.readGray(path, maximumPixels: maximumPixels)
        wholeGray = gray
        levels = [Level(page: TIFFSlide.Page(index: 0, width: width, height: height, isReducedResolution: false), downsample: 1)]
        grid = DeepZoomGrid(width: width, height: height)
        minimumLevel = Self.minimumLevel(grid, downsamples: [1])
    }

    private static func minimumLevel(_ grid: DeepZoomGrid, downsamples: [Double]) -> Int {
        (0...grid.maxLevel).first { level in
            let factor = Double(grid.downsample(level: level))
            let page = downsamples.last { $0 <= factor * 1.0001 } ?? 1
            let side = Double(grid.tileSize) * factor / page
            return side * side <= Double(readBudget) || Double(grid.width * grid.height) / (page * page) <= Double(readBudget)
        } ?? grid.maxLevel
    }

    /// The tile, as RGB of the tile's size; nil when the grid has no such tile or it lies below `minimumLevel`.
    public func tile(level: Int, column: Int, row: Int) throws(SlideError) -> RGBImage? {
        guard level >= minimumLevel, let tile = grid.tile(level: level, column: column, row: row) else { return nil }
        let chosen = levels.last { $0.downsample <= Double(tile.downsample) * 1.0001 } ?? levels[0]
        let page = chosen.page, scale = chosen.downsample
        let left = min(page.width - 1, Int(Double(tile.x) / scale)), top = min(page.height - 1, Int(Double(tile.y) / scale))
        let right = min(page.width, max(left + 1, Int((Double(tile.x + tile.sourceWidth) / scale).rounded(.up))))
        let bottom = min(page.height, max(top + 1, Int((Double(tile.y + tile.sourceHeight) / scale).rounded(.up))))
        let region: RGBImage
        if let wholeGray {
            region = Self.grayRegion(wholeGray, width: grid.width, x: left, y: top, columns: right - left, rows: bottom - top)
        } else {
            let slide: TIFFSlide
            if let open = opened[page.index] { slide = open } else {
                slide = try TIFFSlide(path: path, page: page.index)
                opened[page.index] = slide
            }
            region = try slide.readRegion(x: left, y: top, width: right - left, height: bottom - top)
        }
        return region.areaAveraged(width: tile.width, height: tile.height)
    }

    /// A rectangle of a gray raster as RGB (gray in every channel).
    private static func grayRegion(_ gray: [UInt8], width: Int, x: Int, y: Int, columns: Int, rows: Int) -> RGBImage {
        var out = RGBImage(width: columns, height: rows)
        for row in 0..<rows {
            for column in 0..<columns {
                let value = gray[(y + row) * width + x + column], target = (row * columns + column) * 3
                out.pixels[target] = value; out.pixels[target + 1] = value; out.pixels[target + 2] = value
            }
        }
        return out
    }
}

extension RGBImage {
    /// The rectangle `[x, x + width) × [y, y + height)`.
    func region(x: Int, y: Int, width columns: Int, height rows: Int) -> RGBImage {
        var out = RGBImage(width: columns, height: rows)
        for row in 0..<rows {
            out.pixels.replaceSubrange(row * columns * 3..<(row + 1) * columns * 3,
                                       with: pixels[((y + row) * width + x) * 3..<((y + row) * width + x + columns) * 3])
        }
        return out
    }

    /// Shrunk (or kept) to `width × height`, each pixel the mean of the source pixels it covers.
    public func areaAveraged(width outWidth: Int, height outHeight: Int) -> RGBImage {
        if outWidth == width && outHeight == height { return self }
        var out = RGBImage(width: outWidth, height: outHeight)
        let across = Double(width) / Double(outWidth), down = Double(height) / Double(outHeight)
        pixels.withUnsafeBufferPointer { source in
            out.pixels.withUnsafeMutableBufferPointer { destination in
                for outY in 0..<outHeight {
                    let y0 = min(height - 1, Int(Double(outY) * down)), y1 = max(y0 + 1, min(height, Int(Double(outY + 1) * down)))
                    for outX in 0..<outWidth {
                        let x0 = min(width - 1, Int(Double(outX) * across)), x1 = max(x0 + 1, min(width, Int(Double(outX + 1) * across)))
                        var sum = (0, 0, 0)
                        for y in y0..<y1 {
                            var index = (y * width + x0) * 3
                            for _ in x0..<x1 {
                                sum.0 += Int(source[index]); sum.1 += Int(source[index + 1]); sum.2 += Int(source[index + 2])
                                index += 3
                            }
                        }
                        let count = (y1 - y0) * (x1 - x0), target = (outY * outWidth + outX) * 3
                        destination[target] = UInt8((sum.0 + count / 2) / count)
                        destination[target + 1] = UInt8((sum.1 + count / 2) / count)
                        destination[target + 2] = UInt8((sum.2 + count / 2) / count)
                    }
                }
            }
        }
        return out
    }
}
