import TestSupport
import Testing
@testable import SlideIO

/// Tiled pages read a row of tiles at a time, keeping the last: overlapping bands that start
/// anywhere must come out bit for bit as TIFFRGBAImage decodes them region by region.
@Suite struct TileRowTests {
    /// JPEG YCbCr tiles (libjpeg converts them to RGB) and deflated RGB tiles with a partial last row
    /// and column of tiles.
    @Test(arguments: ["tiff_tiled_ycbcr_jpeg_2x2_sampling.tif", "openslide_boxes_pyramid.tiff"])
    func overlappingBandsMatchTheRegionReads(file: String) throws {
        let path = Fixtures.path("tiff/\(file)")
        let byTileRows = try TIFFSlide(path: path, limits: SlideLimits(), page: nil, tileRowBudget: TileRowDecoding.budget)
        let byRegions = try TIFFSlide(path: path, limits: SlideLimits(), page: nil, tileRowBudget: 0)
        #expect(byTileRows.tileRows?.rgbTiles == true, "the tiles should be read as RGB directly")
        #expect(byRegions.tileRows == nil)
        let height = byTileRows.height, bandHeight = height / 3 + 5, step = bandHeight - 16
        for y in stride(from: 0, to: height, by: step) {  // as the segmenter's bands, overlapping
            let count = min(bandHeight, height - y)
            #expect(try byTileRows.readRows(y, count: count) == byRegions.readRows(y, count: count), "\(file) rows \(y)..<\(y + count)")
        }
        #expect(try byTileRows.readRows(0, count: height) == byRegions.readRows(0, count: height))
        #expect(try byTileRows.readRows(height - 1, count: 1) == byRegions.readRows(height - 1, count: 1))
    }
}
