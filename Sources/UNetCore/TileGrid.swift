/// Where tiles go on an image: along each axis, the fewest tiles of at most `maximumTile` pixels that
/// overlap by at least `overlap`, all of one size (a multiple of `multiple`), spread evenly so the
/// last tile ends at the image edge. Balancing the tile size, rather than always using the maximum,
/// keeps the recomputed overlap small on fields like BreCaHAD's 1360×1024.
///
/// An axis no longer than `maximumTile` gets one tile of the image's own length rounded up to
/// `multiple` (the excess is padded by the caller), so a slide that fits one tile is inferred whole.
public struct TileGrid: Sendable, Equatable {
    public let imageWidth: Int
    public let imageHeight: Int
    public let tileWidth: Int
    public let tileHeight: Int
    /// Left edges of the tile columns and top edges of the tile rows.
    public let columnOrigins: [Int]
    public let rowOrigins: [Int]

    public init(imageWidth: Int, imageHeight: Int, maximumTile: Int, overlap: Int, multiple: Int = 16) {
        precondition(imageWidth > 0 && imageHeight > 0 && maximumTile >= multiple && overlap >= 0 && overlap < maximumTile)
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        (tileWidth, columnOrigins) = Self.axis(length: imageWidth, maximumTile: maximumTile, overlap: overlap, multiple: multiple)
        (tileHeight, rowOrigins) = Self.axis(length: imageHeight, maximumTile: maximumTile, overlap: overlap, multiple: multiple)
    }

    public var tileCount: Int { columnOrigins.count * rowOrigins.count }

    public static func axis(length: Int, maximumTile: Int, overlap: Int, multiple: Int) -> (tile: Int, origins: [Int]) {
        let roundUp = { (value: Int) in (value + multiple - 1) / multiple * multiple }
        if length <= maximumTile { return (roundUp(length), [0]) }
        let maximum = maximumTile / multiple * multiple
        var count = (length - overlap + (maximum - overlap) - 1) / (maximum - overlap)
        var tile = roundUp((length + (count - 1) * overlap + count - 1) / count)
        while tile > maximum { count += 1; tile = roundUp((length + (count - 1) * overlap + count - 1) / count) }
        tile = min(tile, length)
        let origins = (0..<count).map { index in
            count == 1 ? 0 : Int((Double(index * (length - tile)) / Double(count - 1)).rounded())
        }
        return (tile, origins)
    }
}
