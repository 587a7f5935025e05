import Foundation
import TestSupport
import Testing
import UNetCore
@testable import SlideIO

/// The pyramidal mask TIFF read back page by page, and the MPP a TIFF declares, from each source.
@Suite struct PyramidTIFFWriterTests {
    /// A pattern with single pixels, lines and blocks, so the 2×2 maximum is tested at odd edges too.
    static func pattern(width: Int, height: Int) -> [UInt8] {
        (0..<(width * height)).map { i in
            let x = i % width, y = i / width
            return (x * 7 + y * 3) % 11 == 0 || (x / 40 + y / 30) % 3 == 0 ? 255 : 0
        }
    }

    static func halve(_ image: [UInt8], width: Int, height: Int) -> [UInt8] {
        let w = (width + 1) / 2, h = (height + 1) / 2
        return (0..<(w * h)).map { i in
            let x = 2 * (i % w), y = 2 * (i / w)
            return [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)].filter { $0.0 < width && $0.1 < height }
                .map { image[$0.1 * width + $0.0] }.max()!
        }
    }

    static func write(_ pixels: [UInt8], width: Int, height: Int, to path: String, mpp: (Double, Double)? = nil,
                      description: String? = nil, smallestSide: Int = 1024) throws {
        let writer = try PyramidTIFFWriter(path: path, width: width, height: height, micronsPerPixel: mpp, tileSide: 128,
                                           smallestSide: smallestSide, description: description)
        for y in 0..<height { try pixels[(y * width)..<((y + 1) * width)].withUnsafeBufferPointer { try writer.write(row: $0) } }
        try writer.finish()
        try writer.publish()
    }

    @Test func everyLevelIsHalfThePreviousAndMarkedReduced() throws {
        let directory = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/mask.tif"
        var (width, height) = (1001, 333)
        var expected = Self.pattern(width: width, height: height)
        try Self.write(expected, width: width, height: height, to: path, mpp: (0.25, 0.25), smallestSide: 200)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["mask.tif"])  // level files gone
        let sizes = [(1001, 333), (501, 167), (251, 84), (126, 42)]
        for (level, size) in sizes.enumerated() {
            let page = try TIFFSlide(path: path, page: level)
            #expect(page.pageCount == sizes.count && page.width == size.0 && page.height == size.1)
            #expect(page.isReducedResolution == (level > 0) && page.tileSize! == (128, 128))
            let mpp = try #require(page.physicalScale)
            #expect(mpp.source == .tiffResolution && abs(mpp.micronsPerPixelX - 0.25 * Double(1001) / Double(size.0)) < 1e-4)
            let rgb = try page.readAll().pixels
            #expect((0..<(width * height)).allSatisfy { rgb[3 * $0] == expected[$0] }, "level \(level)")
            expected = Self.halve(expected, width: width, height: height)
            (width, height) = ((width + 1) / 2, (height + 1) / 2)
        }
        // The slide reader picks the full-resolution page of a pyramid.
        #expect(try TIFFSlide(path: path).page == 0)
    }

    @Test func mppComesFromAperioThenOMEThenPlausibleResolutionTags() throws {
        let directory = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pixels = [UInt8](repeating: 0, count: 32 * 16)
        let cases: [(String?, (Double, Double)?, PhysicalScale?)] = [
            ("Aperio Image Library v12.0.15\r\n46000x32914 [0,100 46000x32914] (240x240) JPEG/RGB Q=70|AppMag = 20|MPP = 0.4990|Filename = x",
             (2, 2), PhysicalScale(micronsPerPixelX: 0.499, source: .aperio)),
            ("<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" PhysicalSizeX=\"250\" PhysicalSizeXUnit=\"nm\" PhysicalSizeY=\"0.26\" SizeX=\"32\"/></Image></OME>",
             nil, PhysicalScale(micronsPerPixelX: 0.25, micronsPerPixelY: 0.26, source: .ome)),
            ("a description without a scale", (0.5, 0.5), PhysicalScale(micronsPerPixelX: 0.5, source: .tiffResolution)),
            (nil, nil, nil),
        ]
        for (index, (description, mpp, expected)) in cases.enumerated() {
            let path = directory + "/\(index).tif"
            try Self.write(pixels, width: 32, height: 16, to: path, mpp: mpp, description: description)
            let scale = try TIFFSlide(path: path).physicalScale
            #expect(scale?.source == expected?.source)
            #expect(abs((scale?.micronsPerPixelX ?? 0) - (expected?.micronsPerPixelX ?? 0)) < 1e-6)
            #expect(abs((scale?.micronsPerPixelY ?? 0) - (expected?.micronsPerPixelY ?? 0)) < 1e-6)
        }
    }

    @Test func implausibleOrUnitlessResolutionIsNoScale() {
        #expect(PhysicalScale.tiffResolution(x: 72, y: 72, unit: 2) == nil)  // 352.8 µm/px: an editor default
        #expect(PhysicalScale.tiffResolution(x: 40_000, y: 40_000, unit: 1) == nil)  // no unit
        #expect(PhysicalScale.tiffResolution(x: 101_600, y: 101_600, unit: 2)?.micronsPerPixelX == 0.25)  // 4,000 dpi... per inch
        #expect(PhysicalScale.aperio("Aperio|MPP = 0|") == nil && PhysicalScale.aperio("Leica|MPP = 0.25|") == nil)
        #expect(PhysicalScale.ome("<OME><Pixels PhysicalSizeX=\"0.5\" PhysicalSizeXUnit=\"parsec\"/></OME>") == nil)
    }
}
