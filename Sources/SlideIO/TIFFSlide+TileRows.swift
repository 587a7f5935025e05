import CTIFF

/// Tiled 8-bit contiguous pages are decoded a whole row of tiles at a time, and the last row decoded
/// is kept: the segmenter's bands overlap and rarely start on a tile boundary, so each band begins in
/// the row of tiles the one before it ended in. On a 1,952² JPEG field with 512² tiles read in
/// 512-row bands, that is 16 tile decodes instead of 28.
struct TileRowDecoding {
    let tileWidth: Int, tileHeight: Int
    /// The tiles are 8-bit RGB as they are (or YCbCr JPEG that libjpeg turns into RGB, as
    /// TIFFRGBAImage would have it do), so they are read straight into the row, without TIFFRGBAImage's
    /// 32-bit raster and the copy back to 3 bytes a pixel.
    let rgbTiles: Bool

    /// A row of tiles is kept only while it stays under this (at 512-px tiles, slides up to about
    /// 43,000 px wide); wider slides are read as before, region by region.
    static let budget = 64 << 20

    init?(_ handle: OpaquePointer, width: Int, tileWidth: Int, tileHeight: Int, budget: Int) {
        // Both the row of tiles and one tile (whose width a damaged file may make anything) stay under it.
        guard tileWidth > 0, tileHeight > 0, tileHeight <= budget / 3 / max(width, tileWidth) else { return nil }
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        rgbTiles = unet_tiff_prepare_rgb_tiles(handle) == 1
    }
}

extension TIFFSlide {
    /// Rows `[y, y + count)` copied out of the rows of tiles that hold them.
    func readRows(_ y: Int, count: Int, by decoding: TileRowDecoding) throws(SlideError) -> RGBImage {
        var image = RGBImage(width: width, height: count, pixels: .uninitialized(count * width * 3))  // every byte is copied in below
        let rowBytes = width * 3
        for index in (y / decoding.tileHeight)...((y + count - 1) / decoding.tileHeight) {
            let top = index * decoding.tileHeight
            let pixels = try tileRow(index, decoding)
            let first = max(y, top), end = min(y + count, top + pixels.count / rowBytes)
            image.pixels.withUnsafeMutableBufferPointer { destination in
                pixels.withUnsafeBufferPointer { source in
                    (destination.baseAddress! + (first - y) * rowBytes)
                        .update(from: source.baseAddress! + (first - top) * rowBytes, count: (end - first) * rowBytes)
                }
            }
        }
        return image
    }

    /// Row of tiles `index` at full width, from the one kept or decoded (and then kept).
    private func tileRow(_ index: Int, _ decoding: TileRowDecoding) throws(SlideError) -> [UInt8] {
        if let lastTileRow, lastTileRow.index == index { return lastTileRow.pixels }
        lastTileRow = nil  // freed before the next is decoded
        let top = index * decoding.tileHeight, rows = min(decoding.tileHeight, height - top)
        let rowBytes = width * 3, tileWidth = decoding.tileWidth
        var pixels = [UInt8].uninitialized(rows * rowBytes)  // the tiles cover every column of every row
        var reason = [CChar](repeating: 0, count: 1024)
        let errorsBefore = diagnostics.pointee.errors
        func failure() -> SlideError { decodingFailure(top..<(top + rows), errorsBefore: errorsBefore, reason: reason) }
        if decoding.rgbTiles {
            let tileBytes = tileWidth * decoding.tileHeight * 3
            if tileBuffer.count != tileBytes { tileBuffer = .uninitialized(tileBytes) }
            for left in stride(from: 0, to: width, by: tileWidth) {
                let ok = unet_tiff_read_tile(handle, UInt32(left), UInt32(top), &tileBuffer, Int64(tileBytes), &reason)
                guard ok == 1, diagnostics.pointee.errors == errorsBefore else { throw failure() }
                let columnBytes = min(tileWidth, width - left) * 3
                pixels.withUnsafeMutableBufferPointer { destination in
                    tileBuffer.withUnsafeBufferPointer { source in
                        for row in 0..<rows {
                            (destination.baseAddress! + row * rowBytes + left * 3)
                                .update(from: source.baseAddress! + row * tileWidth * 3, count: columnBytes)
                        }
                    }
                }
            }
        } else {
            var raster = [UInt32](repeating: 0, count: tileWidth * rows)
            for left in stride(from: 0, to: width, by: tileWidth) {
                let columns = min(tileWidth, width - left)
                let ok = unet_tiff_read_region(handle, UInt32(left), UInt32(top), UInt32(columns), UInt32(rows), &raster, &reason)
                guard ok == 1, diagnostics.pointee.errors == errorsBefore else { throw failure() }
                Self.copyRGB(of: raster, columns: columns, rows: rows, into: &pixels, width: width, left: left, top: 0)
            }
        }
        lastTileRow = (index, pixels)
        return pixels
    }
}

extension [UInt8] {
    /// `count` bytes left as they are: for buffers every byte of which is written before it is read
    /// (zeroing a 3 MB band first cost a millisecond).
    static func uninitialized(_ count: Int) -> [UInt8] { [UInt8](unsafeUninitializedCapacity: count) { _, initialized in initialized = count } }
}
