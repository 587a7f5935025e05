import Foundation
import TestSupport
import Testing
import SlideIO
import UNetCore
import UNetEngine
@testable import Segmentation

@Suite struct SegmentationTests {
    static func fixture(_ path: String) -> String { Fixtures.path(path) }
    static let defaultModel = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/DefaultModel/Resources/default-model.safetensors").path

    func temporaryDirectory() throws -> String { try Fixtures.temporaryDirectory().path }

    func segmenter(_ model: String = "engine/ref_bilinear_c1_bias.pth") throws -> SlideSegmenter {
        try SlideSegmenter(model: try ModelFile.load(path: Self.fixture(model)), threads: 2)
    }

    @Test func wholeSlideInOneTileEqualsPyTorch() throws {
        // The golden crop as a lossless TIFF: one 64×48 tile, so the result is whole-image inference.
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try segmenter().segment(slidePath: Self.fixture("slides/tia_crop_64x48.tif"), outputDirectory: out,
                                              options: SegmentationOptions(writeProbabilities: true))
        #expect(summary.tilesRun == 1 && summary.tileWidth == 64 && summary.tileHeight == 48)
        let probability = try PNGImage.readGray(out + "/tia_crop_64x48.prob.png")
        let golden = try SafeTensors.read(url: URL(fileURLWithPath: Self.fixture("engine/ref_bilinear_c1_bias.golden.safetensors")))
        let expected = try #require(golden.tensors["probability"]).scalars
        let worst = zip(probability.pixels, expected).map { abs(Float($0) - $1 * 255) }.max()!
        #expect(worst <= 0.51, "largest difference \(worst) of 255")
        let mask = try PNGImage.readGray(out + "/tia_crop_64x48.mask.png")
        #expect(zip(mask.pixels, expected).allSatisfy { ($0 == 255) == ($1 >= 0.5) })
    }

    @Test func tiledSlideWritesEveryOutputAtFullResolution() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try segmenter().segment(slidePath: Self.fixture("slides/histo_he.tif"), outputDirectory: out,
                                              options: SegmentationOptions(tile: 128, overlap: 16, overlayMaximumSide: 256))
        // 500 × 300 in tiles of at most 128 with 16 px overlap: 5 columns × 3 rows, none skipped (all tissue).
        #expect(summary.tilesRun == 15 && summary.tilesSkipped == 0 && summary.tileWidth <= 128 && summary.tileHeight <= 128)
        let mask = try PNGImage.readGray(out + "/histo_he.mask.png")
        #expect(mask.width == 500 && mask.height == 300)
        #expect(mask.pixels.allSatisfy { $0 == 0 || $0 == 255 })
        let positives = mask.pixels.filter { $0 == 255 }.count
        #expect(abs(Double(positives) / 150_000 - summary.positiveFraction) < 1e-9)
        let overlay = try PNGImage.readRGB(out + "/histo_he.overlay.png")
        #expect(overlay.width == 250 && overlay.height == 150)  // downscaled 2× to fit 256
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) ==
                Set(["mask.png", "overlay.png", "geojson", "objects.csv", "summary.csv", "result.json"].map { "histo_he." + $0 }
                    + [SummaryTable.fileName, ".summary.csv.lock"]))
    }

    /// Through the default instance model (`instances`), the lines between nuclei are drawn too: exactly
    /// the pixels of each GeoJSON object that touch another object.
    @Test(arguments: [false, true])
    func overlayTintsExactlyTheMaskAndOutlinesItsEdges(instances: Bool) throws {
        // The overlay thresholds its rows itself, and its last band is drawn on another thread than
        // the mask's: pixel by pixel it must still be the slide where the mask is 0, the contour colour
        // on the mask's edge (a 4-neighbour outside, or the image border) and the tint inside.
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let slidePath = Self.fixture("slides/histo_he.tif")
        // The threshold near this model's median probability: about half the pixels positive, in regions with insides.
        let segmenter = instances ? try SlideSegmenter(model: ModelFile.load(path: Self.defaultModel), threads: 2) : try segmenter()
        _ = try segmenter.segment(slidePath: slidePath, outputDirectory: out, options: SegmentationOptions(
            tile: 128, overlap: 16, threshold: instances ? nil : 0.474, minimumObjectArea: .pixels(0)))
        let slide = try TIFFSlide(path: slidePath).readAll()
        let mask = try PNGImage.readGray(out + "/histo_he.mask.png"), overlay = try PNGImage.readRGB(out + "/histo_he.overlay.png")
        let width = slide.width, height = slide.height
        #expect(overlay.width == width && overlay.height == height && mask.width == width)
        let positives = mask.pixels.filter { $0 == 255 }.count
        #expect(positives > width * height / (instances ? 10 : 4) && positives < width * height * 3 / 4, "\(positives) positive")
        let tint = OverlayWriter.tint, targets = [tint.r, tint.g, tint.b]
        func positive(_ x: Int, _ y: Int) -> Bool { x >= 0 && x < width && y >= 0 && y < height && mask.pixels[y * width + x] == 255 }
        // Each pixel's object, from the GeoJSON; a pixel with a 4-neighbour in another object is on a line.
        var objects = [Int32](repeating: 0, count: width * height)
        for (index, feature) in try WholeSlideOutputTests.features(out + "/histo_he.geojson").enumerated() {
            let raster = ObjectTracerTests.rasterise(rings: feature.rings, width: width, height: height)
            for y in 0..<height { for x in 0..<width where raster[y][x] { objects[y * width + x] = Int32(index + 1) } }
        }
        func other(_ x: Int, _ y: Int, than own: Int32) -> Bool {
            guard x >= 0 && x < width && y >= 0 && y < height else { return false }
            let object = objects[y * width + x]
            return object != 0 && object != own
        }
        func onSplit(_ x: Int, _ y: Int) -> Bool {
            let own = objects[y * width + x]
            return other(x - 1, y, than: own) || other(x + 1, y, than: own) || other(x, y - 1, than: own) || other(x, y + 1, than: own)
        }
        var wrong = 0, insides = 0, lines = 0
        for y in 0..<height {
            for x in 0..<width {
                let source = slide.pixels[(3 * (y * width + x))...].prefix(3), drawn = overlay.pixels[(3 * (y * width + x))...].prefix(3)
                let expected: [UInt8]
                if !positive(x, y) {
                    expected = Array(source)
                } else if !positive(x - 1, y) || !positive(x + 1, y) || !positive(x, y - 1) || !positive(x, y + 1) {
                    expected = OverlayWriter.contour
                } else if onSplit(x, y) {
                    expected = OverlayWriter.contour
                    lines += 1
                } else {
                    expected = zip(source, targets).map { UInt8(Float($0) * (1 - tint.alpha) + $1 * tint.alpha) }
                    insides += 1
                }
                if Array(drawn) != expected { wrong += 1 }
            }
        }
        #expect(wrong == 0, "\(wrong) overlay pixels differ from the slide, tint and contour the mask implies")
        #expect(insides > 0 && insides < positives)  // both tinted insides and contours were checked
        #expect(instances ? lines > 100 : lines == 0, "\(lines) pixels on lines between nuclei")
    }

    @Test func groundTruthIdenticalToThePredictionScoresOne() throws {
        let out = try temporaryDirectory(), truthDirectory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: truthDirectory) }
        let slide = truthDirectory + "/field.tif"
        try FileManager.default.copyItem(atPath: Self.fixture("slides/histo_he.tif"), toPath: slide)
        let first = try segmenter().segment(slidePath: slide, outputDirectory: out, options: SegmentationOptions(tile: 256))
        #expect(first.scores == nil)
        try FileManager.default.copyItem(atPath: out + "/field.mask.png", toPath: truthDirectory + "/field.truth.png")
        let second = try segmenter().segment(slidePath: slide, outputDirectory: out, options: SegmentationOptions(tile: 256))
        let scores = try #require(second.scores)
        #expect(scores.dice > 0.999999 && scores.accuracy == 1 && scores.iou > 0.999999)
    }

    @Test func breCaHADPointsBesideTheSlideAreScored() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try segmenter().segment(slidePath: Self.fixture("slides/tia_he.tif"), outputDirectory: out,
                                              options: SegmentationOptions(tile: 512))
        let scores = try #require(summary.scores)
        #expect(scores.truthPath.hasSuffix("tia_he.json"))
        // 349 circles of radius 20 cover a real share of the field; the counts must add up.
        #expect(scores.counts.total == 1_000_000)
        let truthPixels = scores.counts.truePositives + scores.counts.falseNegatives
        #expect(truthPixels > 200_000 && truthPixels < 600_000)
    }

    /// A run its caller stops throws a cancellation, recognised by type: a failure worded the same is not one.
    @Test func aCancelledRunSaysSoByTypeAndLeavesNothing() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var asked = 0
        let segmenter = try segmenter()
        do {
            _ = try segmenter.segment(slidePath: Self.fixture("slides/histo_he.tif"), outputDirectory: out,
                                        options: SegmentationOptions(tile: 128), isCancelled: { asked += 1; return asked > 2 })
            Issue.record("not cancelled")
        } catch {
            #expect(error.isCancellation && asked == 3)
            #expect(!SlideError(path: error.path, reason: error.reason).isCancellation)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
    }

    @Test func failedPublishLeavesNoOutputs() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        // A directory squatting on the overlay's name makes the last rename fail.
        try FileManager.default.createDirectory(atPath: out + "/histo_he.overlay.png/x", withIntermediateDirectories: true)
        #expect(throws: SlideError.self) {
            try segmenter().segment(slidePath: Self.fixture("slides/histo_he.tif"), outputDirectory: out, options: SegmentationOptions())
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["histo_he.overlay.png"])
    }

    @Test func backgroundTilesAreSkipped() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try segmenter().segment(slidePath: Self.fixture("slides/half_glass.tif"), outputDirectory: out,
                                              options: SegmentationOptions(tile: 128, overlap: 0, skipBackground: true))
        #expect(summary.tilesSkipped == 4 && summary.tilesRun == 4)
    }

    @Test func inputScaleReturnsFullResolution() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try segmenter().segment(slidePath: Self.fixture("slides/histo_he.tif"), outputDirectory: out,
                                              options: SegmentationOptions(tile: 128, inputScale: 0.5))
        #expect(summary.networkWidth == 250 && summary.networkHeight == 150)
        let mask = try PNGImage.readGray(out + "/histo_he.mask.png")
        #expect(mask.width == 500 && mask.height == 300)
    }

    @Test func malformedSlideIsRefusedWithItsName() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let path = Self.fixture("tiff_bad/libtiff_segfault.tif")
        do {
            _ = try segmenter().segment(slidePath: path, outputDirectory: out, options: SegmentationOptions())
            Issue.record("accepted")
        } catch {
            #expect((error as? SlideError)?.path == path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
    }
}
