import Foundation
import TestSupport
import Testing
import SlideIO

@Suite struct TIFFSlideTests {
    static let readable: [(file: String, width: Int, height: Int)] = [
        ("hopper_lzw.tif", 128, 128), ("hopper_jpg.tif", 128, 128), ("hopper_bigtiff.tif", 128, 128),
        ("tiff_adobe_deflate.tif", 278, 374), ("tiff_tiled_planar_lzw.tiff", 278, 374),
        ("tiff_tiled_ycbcr_jpeg_2x2_sampling.tif", 480, 360), ("tiff_16bit_RGB.tiff", 100, 40),
        ("12bit.cropped.tif", 100, 100), ("multipage.tiff", 20, 20), ("openslide_boxes_pyramid.tiff", 300, 250),
    ]

    @Test(arguments: readable)
    func readsEveryEncoding(file: String, width: Int, height: Int) throws {
        let slide = try TIFFSlide(path: Fixtures.path("tiff/\(file)"))
        #expect(slide.width == width && slide.height == height)
        let image = try slide.readAll()
        #expect(image.pixels.count == width * height * 3)
        // A band of rows equals the same rows of the whole page.
        let band = try slide.readRows(height / 3, count: height / 2)
        let start = (height / 3) * width * 3
        #expect(band.pixels == Array(image.pixels[start..<(start + band.pixels.count)]), "\(file)")
    }

    @Test func pyramidReadsItsFullResolutionPage() throws {
        let slide = try TIFFSlide(path: Fixtures.path("tiff/openslide_boxes_pyramid.tiff"))
        #expect(slide.pageCount == 4)
        #expect(slide.page == 0)
    }

    @Test func colourIsDecodedFaithfully() throws {
        // The same photograph stored LZW and as BigTIFF must decode to identical pixels.
        let lzw = try TIFFSlide(path: Fixtures.path("tiff/hopper_lzw.tif")).readAll()
        let big = try TIFFSlide(path: Fixtures.path("tiff/hopper_bigtiff.tif")).readAll()
        #expect(lzw == big)
        let mean = Double(lzw.pixels.reduce(0) { $0 + Int($1) }) / Double(lzw.pixels.count)
        #expect(mean > 30 && mean < 220)
    }

    @Test(arguments: ["libtiff_segfault.tif", "oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif", "seek_too_large.tif"])
    func malformedFilesAreRefused(file: String) {
        let path = Fixtures.path("tiff_bad/\(file)")
        #expect(throws: SlideError.self) {
            let slide = try TIFFSlide(path: path, limits: SlideLimits(maximumPixels: 100_000_000))
            _ = try slide.readAll()
        }
    }

    @Test func pngRenamedTifIsRefusedAsPNG() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = directory.appendingPathComponent("fake.tif").path
        let writer = try PNGRowWriter(path: fake, width: 2, height: 1, channels: 1)
        try [UInt8](arrayLiteral: 0, 255).withUnsafeBufferPointer { try writer.write(row: $0) }
        try writer.finish()
        try writer.publish()
        do {
            _ = try TIFFSlide(path: fake)
            Issue.record("PNG accepted as TIFF")
        } catch {
            #expect(error.reason.contains("a PNG image"))
            #expect(error.path == fake)
        }
    }

    @Test func pixelLimitIsCheckedBeforeDecoding() {
        let path = Fixtures.path("tiff/tiff_adobe_deflate.tif")
        #expect(throws: SlideError.self) { try TIFFSlide(path: path, limits: SlideLimits(maximumPixels: 1000)) }
    }
}
