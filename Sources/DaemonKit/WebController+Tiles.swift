import Foundation
import Hummingbird
import NIOCore
import Segmentation
import SlideIO
import UNetCore

/// Deep Zoom for the viewer: `/tiles/NAME/slide.dzi` and `/tiles/NAME/slide_files/LEVEL/X_Y.png` for
/// the archived original, the same under `mask` for the nuclei (`?style=outline|fill`, transparent
/// elsewhere), and `/thumbnails/NAME.png` for the overview.
extension WebController {
    /// Nuclei colour in the viewer.
    static let nucleusColour: (UInt8, UInt8, UInt8) = (0, 230, 118)
    /// The overview's thumbnails fit in this box.
    static let thumbnailSize = (width: 192, height: 144)

    func addTileRoutes(to router: Router<ControlContext>) {
        router.get("/tiles/:name/:image") { _, context in
            let slide = try await WebSlide.resolve(try context.parameters.require("name"), dependencies)
            let descriptor = try context.parameters.require("image")
            let image = try Self.image(named: String(descriptor.dropLast(4)), expecting: ".dzi", in: descriptor)
            let grid = try await open(image, of: slide).grid
            let xml = DeepZoomGrid(width: grid.width, height: grid.height, tileSize: grid.tileSize).descriptor(format: "png")
            return Response(status: .ok, headers: [.contentType: "application/xml"], body: .init(byteBuffer: ByteBuffer(string: xml)))
        }
        router.get("/tiles/:name/:image/:level/:tile") { request, context in
            let slide = try await WebSlide.resolve(try context.parameters.require("name"), dependencies)
            let files = try context.parameters.require("image")
            let image = try Self.image(named: String(files.dropLast(6)), expecting: "_files", in: files)
            let (level, column, row) = try Self.tileAddress(level: try context.parameters.require("level"), tile: try context.parameters.require("tile"))
            let style = request.uri.queryParameters.get("style") ?? "outline"
            guard style == "outline" || style == "fill" else { throw HTTPError(.badRequest, message: "style must be outline or fill") }
            let entry = try await open(image, of: slide)
            let png = try await dependencies.web.run { () throws -> [UInt8]? in
                guard let tile = try entry.source.withLock({ source throws(SlideError) in try source.tile(level: level, column: column, row: row) }) else {
                    return nil
                }
                if image == .slide { return try PNGImage.encode(tile.pixels, width: tile.width, height: tile.height, channels: 3, name: slide.outputName) }
                return try PNGImage.encode(Self.nucleusOverlay(tile, outlines: style == "outline"), width: tile.width, height: tile.height,
                                           channels: 4, name: slide.outputName)
            }
            guard let png else { throw HTTPError(.notFound, message: "no tile \(column)_\(row) at level \(level) (levels \(entry.grid.minLevel)–\(entry.grid.maxLevel))") }
            return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "max-age=3600"],
                            body: .init(byteBuffer: ByteBuffer(bytes: png)))
        }
        router.get("/thumbnails/:file") { _, context in
            let file = try context.parameters.require("file")
            guard file.hasSuffix(".png") else { throw HTTPError(.notFound, message: "thumbnails are NAME.png") }
            let slide = try await WebSlide.resolve(String(file.dropLast(4)), dependencies)
            let overlay = slide.output(OutputKind.overlay.suffix)
            let png = try await dependencies.web.run { () throws -> [UInt8] in
                let image = try PNGImage.readRGB(overlay, maximumPixels: 64 << 20)
                let scale = min(1, Double(Self.thumbnailSize.width) / Double(image.width), Double(Self.thumbnailSize.height) / Double(image.height))
                let small = image.areaAveraged(width: max(1, Int(Double(image.width) * scale)), height: max(1, Int(Double(image.height) * scale)))
                return try PNGImage.encode(small.pixels, width: small.width, height: small.height, channels: 3, name: overlay)
            }
            return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "max-age=3600"],
                            body: .init(byteBuffer: ByteBuffer(bytes: png)))
        }
    }

    enum Image { case slide, mask }

    /// `slide` or `mask`, from `slide.dzi` / `mask_files`; 404 for anything else.
    static func image(named name: String, expecting suffix: String, in component: String) throws -> Image {
        guard component.hasSuffix(suffix) else { throw HTTPError(.notFound, message: "no image \(component)") }
        switch name {
        case "slide": return .slide
        case "mask": return .mask
        default: throw HTTPError(.notFound, message: "no image \(component): slide or mask")
        }
    }

    /// `LEVEL` and `X_Y.png` as numbers: 400 unless small non-negative integers.
    static func tileAddress(level: String, tile: String) throws -> (Int, Int, Int) {
        func number(_ text: Substring) -> Int? {
            guard (1...6).contains(text.count), text.allSatisfy(\.isASCII), let value = Int(text), value >= 0 else { return nil }
            return value
        }
        let parts = tile.hasSuffix(".png") ? tile.dropLast(4).split(separator: "_", omittingEmptySubsequences: false) : []
        guard let level = number(Substring(level)), parts.count == 2, let column = number(parts[0]), let row = number(parts[1]) else {
            throw HTTPError(.badRequest, message: "a tile is LEVEL/X_Y.png with small non-negative integers")
        }
        return (level, column, row)
    }

    /// The slide's original or mask, opened (404 when it has none). Whether the file is there is asked
    /// on the web pool too: even that `access(2)` can stall with its mount.
    func open(_ image: Image, of slide: WebSlide) async throws -> DeepZoomCache.Entry {
        let cache = dependencies.deepZoom
        do {
            let entry = try await dependencies.web.run { () throws -> DeepZoomCache.Entry? in
                try (image == .slide ? slide.original : slide.mask).map { try cache.entry(path: $0) }
            }
            guard let entry else { throw HTTPError(.notFound, message: "\(slide.outputName) has no such image (original moved away, or no mask written)") }
            return entry
        } catch let error as SlideError {
            throw HTTPError(.unprocessableContent, message: error.description)
        }
    }

    /// A mask tile (gray coverage in each channel) as RGBA: nuclei in `nucleusColour`, transparent
    /// elsewhere; with `outlines`, their edge opaque and their inside faint.
    static func nucleusOverlay(_ tile: RGBImage, outlines: Bool) -> [UInt8] {
        let width = tile.width, height = tile.height
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        func inside(_ x: Int, _ y: Int) -> Bool { x < 0 || y < 0 || x >= width || y >= height || tile.pixels[(y * width + x) * 3] >= 128 }
        for y in 0..<height {
            for x in 0..<width {
                let coverage = tile.pixels[(y * width + x) * 3]
                guard coverage > 0 else { continue }
                let edge = coverage >= 128 && !(inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1))
                let alpha: UInt8 = outlines ? (edge ? 255 : UInt8(Int(coverage) / 5)) : UInt8(Int(coverage) * 3 / 5)
                let target = (y * width + x) * 4
                (rgba[target], rgba[target + 1], rgba[target + 2], rgba[target + 3]) = (nucleusColour.0, nucleusColour.1, nucleusColour.2, alpha)
            }
        }
        return rgba
    }
}
