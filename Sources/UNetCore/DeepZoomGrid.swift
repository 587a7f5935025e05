/// The Deep Zoom (DZI) tiling of a `width × height` image, as OpenSeadragon requests it: level
/// `maxLevel` is the image itself, each level below halves it (rounding up) down to 1 × 1 at level 0,
/// and every level is cut into `tileSize`² tiles from the top left, with no overlap.
public struct DeepZoomGrid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let tileSize: Int

    public init(width: Int, height: Int, tileSize: Int = 256) {
        precondition(width > 0 && height > 0 && tileSize > 0)
        self.width = width
        self.height = height
        self.tileSize = tileSize
    }

    /// ⌈log₂ max(width, height)⌉: the full-resolution level.
    public var maxLevel: Int {
        var level = 0
        while (1 << level) < max(width, height) { level += 1 }
        return level
    }

    /// Image pixels per level pixel at `level` (a power of two).
    public func downsample(level: Int) -> Int { 1 << (maxLevel - level) }

    /// The level's size: the image divided by its downsample, rounded up.
    public func size(level: Int) -> (width: Int, height: Int) {
        let factor = downsample(level: level)
        return ((width + factor - 1) / factor, (height + factor - 1) / factor)
    }

    /// Tiles across and down at `level`.
    public func tiles(level: Int) -> (columns: Int, rows: Int) {
        let (levelWidth, levelHeight) = size(level: level)
        return ((levelWidth + tileSize - 1) / tileSize, (levelHeight + tileSize - 1) / tileSize)
    }

    /// One tile: where it lies in the image (full-resolution pixels) and its own size in pixels.
    public struct Tile: Sendable, Equatable {
        public let level: Int, column: Int, row: Int
        /// The image pixels it covers.
        public let x: Int, y: Int, sourceWidth: Int, sourceHeight: Int
        /// Its size as served.
        public let width: Int, height: Int
        /// Image pixels per tile pixel.
        public let downsample: Int
    }

    /// The tile at (`column`, `row`) of `level`, or nil when there is no such tile (a level out of
    /// range, a column or row past the edge, negative numbers).
    public func tile(level: Int, column: Int, row: Int) -> Tile? {
        guard (0...maxLevel).contains(level), column >= 0, row >= 0 else { return nil }
        let (columns, rows) = tiles(level: level)
        guard column < columns, row < rows else { return nil }
        let factor = downsample(level: level), (levelWidth, levelHeight) = size(level: level)
        let tileWidth = min(tileSize, levelWidth - column * tileSize), tileHeight = min(tileSize, levelHeight - row * tileSize)
        let x = column * tileSize * factor, y = row * tileSize * factor
        return Tile(level: level, column: column, row: row, x: x, y: y,
                    sourceWidth: min(tileWidth * factor, width - x), sourceHeight: min(tileHeight * factor, height - y),
                    width: tileWidth, height: tileHeight, downsample: factor)
    }

    /// The DZI descriptor OpenSeadragon opens (`NAME.dzi`), for tiles in `format` (`png`, `jpeg`).
    public func descriptor(format: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="\(format)" Overlap="0" TileSize="\(tileSize)">
          <Size Width="\(width)" Height="\(height)"/>
        </Image>
        """
    }
}
