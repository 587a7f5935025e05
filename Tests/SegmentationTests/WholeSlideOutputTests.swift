import Foundation
import TestSupport
import Testing
import SlideIO
import UNetCore
import UNetEngine
@testable import Segmentation

/// GeoJSON, object table, pyramid and physical scale, end to end through `SlideSegmenter`.
@Suite struct WholeSlideOutputTests {
    static let slide = Fixtures.path("slides/histo_he.tif")  // 500×300

    func segmenter(mpp: Double? = nil, className: String? = nil, objects: ObjectSeparation? = nil) throws -> SlideSegmenter {
        var model = try ModelFile.load(path: Fixtures.engine("ref_bilinear_c1_bias.pth"))
        if mpp != nil || className != nil || objects != nil {
            var metadata = model.metadata
            metadata.micronsPerPixel = mpp
            metadata.className = className
            metadata.objects = objects
            let path = try Fixtures.temporaryDirectory().path + "/model.safetensors"
            try AtomicFile.write(model.safetensorsImage(metadata: metadata), to: path)
            model = try ModelFile.load(path: path)
        }
        return try SlideSegmenter(model: model, threads: 2)
    }

    struct Feature {
        var id: String
        var rings: [[(Double, Double)]]
        var properties: [String: Any]
        var measurements: [String: Double]
    }

    /// The features as QuPath's importer reads them (qupath-core `PathObjectTypeAdapters`): `measurements`
    /// must be an object of name → number (gson's `Map<String, Double>`), the classification a name and an RGB triple.
    static func features(_ path: String) throws -> [Feature] {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        #expect(json["type"] as? String == "FeatureCollection")
        return try #require(json["features"] as? [[String: Any]]).map { feature in
            let geometry = feature["geometry"] as! [String: Any]
            #expect(feature["type"] as? String == "Feature" && geometry["type"] as? String == "Polygon")
            let rings = (geometry["coordinates"] as! [[[Double]]]).map { $0.map { ($0[0], $0[1]) } }
            let properties = feature["properties"] as! [String: Any]
            return Feature(id: feature["id"] as! String, rings: rings, properties: properties,
                           measurements: properties["measurements"] as! [String: Double])
        }
    }

    static func mask(_ path: String) throws -> [[Bool]] {
        let image = try PNGImage.readGray(path)
        return (0..<image.height).map { y in (0..<image.width).map { image.pixels[y * image.width + $0] != 0 } }
    }

    @Test(arguments: [1.0, 0.5])
    func geojsonRasterisesToTheMaskAndTheTableMatchesIt(inputScale: Double) throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        // Small tiles: objects cross tile borders and band borders.
        let summary = try segmenter(className: "Nucleus").segment(
            slidePath: Self.slide, outputDirectory: out,
            options: SegmentationOptions(tile: 64, overlap: 8, inputScale: inputScale, slideMPP: 0.5, minimumObjectArea: .pixels(0)))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) ==
                Set(["mask.png", "overlay.png", "geojson", "objects.csv", "summary.csv", "result.json"].map { "histo_he." + $0 }
                    + [SummaryTable.fileName, ".summary.csv.lock"]))
        let features = try Self.features(out + "/histo_he.geojson")
        let mask = try Self.mask(out + "/histo_he.mask.png")
        #expect(features.count == summary.objects && summary.objects > 3)
        #expect(ObjectTracerTests.rasterise(rings: features.flatMap(\.rings), width: 500, height: 300) == mask)
        #expect(ObjectTracerTests.componentCount(mask) == features.count)

        let csv = try String(contentsOfFile: out + "/histo_he.objects.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(csv[0].joined(separator: ",") + "\n" == ObjectWriter.csvHeader)
        #expect(csv.count == features.count + 1)
        let column = Dictionary(uniqueKeysWithValues: csv[0].enumerated().map { ($1, $0) })
        for (feature, row) in zip(features, csv.dropFirst()) {
            let pixels = ObjectTracerTests.rasterise(rings: feature.rings, width: 500, height: 300)
            let area = pixels.joined().filter { $0 }.count
            #expect(row[0] == feature.id && UUID(uuidString: row[0]) != nil && row[1] == "Nucleus")
            // Every measurement is the GeoJSON's, under the same QuPath name.
            for name in ObjectWriter.measurementNames {
                let value = feature.measurements[name]
                // Foundation's JSON reader may round the last digit differently from Double(String).
                #expect(value != nil && abs(Double(row[column[name]!])! - value!) < 1e-9, "\(name)")
            }
            // Areas are the polygon's: within half a pixel per outline corner of the pixel count.
            let polygonArea = feature.measurements["Nucleus: Area px"]!
            #expect(abs(polygonArea - Double(area)) <= 0.125 * Double(feature.rings.map(\.count).reduce(0, +)) + 1e-9)
            #expect(abs(feature.measurements["Nucleus: Area µm^2"]! - polygonArea * 0.25) < 1e-4)
            let circularity = feature.measurements["Nucleus: Circularity"]!, solidity = feature.measurements["Nucleus: Solidity"]!
            #expect(circularity > 0 && circularity <= 1 && solidity > 0 && solidity <= 1)
            #expect(feature.measurements["Nucleus: Max caliper µm"]! >= feature.measurements["Nucleus: Min caliper µm"]!)
            #expect(feature.measurements["Nucleus: Hematoxylin OD max"]! >= feature.measurements["Nucleus: Hematoxylin OD mean"]!)
            let (x, y, w, h) = (Int(row[column["bbox_x"]!])!, Int(row[column["bbox_y"]!])!, Int(row[column["bbox_width"]!])!,
                                Int(row[column["bbox_height"]!])!)
            let rows = pixels.indices.filter { pixels[$0].contains(true) }
            let columns = (0..<500).filter { c in pixels.contains { $0[c] } }
            #expect((x, y, w, h) == (columns.first!, rows.first!, columns.count, rows.count))
            let centroidX = Double(row[column["centroid_x"]!])!, centroidY = Double(row[column["centroid_y"]!])!
            #expect(centroidX > Double(x) && centroidX < Double(x + w) && centroidY > Double(y) && centroidY < Double(y + h))
            let probability = feature.measurements["Mean probability"]!
            #expect(probability >= 0.5 && probability <= 1)
            #expect(feature.properties["objectType"] as? String == "detection")
            let classification = feature.properties["classification"] as? [String: Any]
            #expect(classification?["name"] as? String == "Nucleus" && (classification?["color"] as? [Int])?.count == 3)
        }
        #expect(summary.slideMPP == 0.5 && summary.mppSource == .flag && summary.modelMPP == nil && summary.inputScale == inputScale)
    }

    @Test func smallObjectsAreLeftOutAndUnknownScaleLeavesMicronsEmpty() throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let all = try segmenter().segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(outputs: [.objects]))
        let lines = try String(contentsOfFile: out + "/histo_he.objects.csv", encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let column = Dictionary(uniqueKeysWithValues: lines[0].enumerated().map { ($1, $0) })
        let rows = lines.dropFirst()
        #expect(rows.allSatisfy { row in ObjectWriter.measurementNames.filter { $0.contains("µm") }.allSatisfy { row[column[$0]!].isEmpty } })
        let areas = rows.map { Double($0[column["Nucleus: Area px"]!])! }
        let cut = areas.sorted()[areas.count / 2].rounded(.up)
        let bigger = try segmenter().segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(outputs: [.objects, .geojson], minimumObjectArea: .pixels(cut)), outputName: "bigger")
        #expect(bigger.objects < all.objects && bigger.objects > 0)
        // The filter counts pixels; the polygon's area is within a pixel of that for these small outlines.
        #expect(try Self.features(out + "/bigger.geojson").allSatisfy { $0.measurements["Nucleus: Area px"]! >= cut - 1 && $0.measurements["Nucleus: Area µm^2"] == nil })
        #expect(all.slideMPP == nil && all.warnings.isEmpty && all.nuclei?.areaMicrons == nil && all.nuclei?.tissueAreaMM2 == nil)
    }

    @Test func modelAndSlideMPPSetTheInputScale() throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let at = try segmenter(mpp: 1.0)
        let scaled = try at.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(outputs: [.mask], slideMPP: 0.5))
        #expect(scaled.inputScale == 0.5 && scaled.networkWidth == 250 && scaled.width == 500 && scaled.warnings.isEmpty)
        let explicit = try at.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(inputScale: 1, outputs: [.mask], slideMPP: 0.5), outputName: "explicit")
        #expect(explicit.inputScale == 1)
        let off = try at.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(outputs: [.mask], mpp: .off, slideMPP: 0.5), outputName: "off")
        #expect(off.inputScale == 1 && off.warnings.isEmpty)
        let unknown = try at.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(outputs: [.mask]), outputName: "unknown")
        #expect(unknown.inputScale == 1 && unknown.warnings.count == 1 && unknown.slideMPP == nil && unknown.modelMPP == 1)
        #expect(throws: SlideError.self) {
            try at.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(outputs: [.mask], requireMPP: true), outputName: "refused")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/refused.mask.png"))
        let json = try String(contentsOfFile: out + "/unknown.result.json", encoding: .utf8)
        #expect(json.contains("\"slide_mpp\" : null") && json.contains("\"model_mpp\" : 1") && json.contains("\"warnings\" : ["))
    }

    @Test(arguments: [OutputKind.geojson, .objects, .pyramid, .overlay])
    func aFailureInAnyOutputPublishesNone(blocked: OutputKind) throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        // A directory where the output should go: its rename fails after every file is written.
        try FileManager.default.createDirectory(atPath: out + "/histo_he" + blocked.suffix + "/x", withIntermediateDirectories: true)
        #expect(throws: SlideError.self) {
            try segmenter().segment(slidePath: Self.slide, outputDirectory: out,
                                    options: SegmentationOptions(outputs: [.mask, .overlay, .geojson, .objects, .pyramid]))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["histo_he" + blocked.suffix])
    }

    @Test func pyramidIsTheMaskLevelByLevel() throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try segmenter().segment(slidePath: Self.slide, outputDirectory: out,
                                    options: SegmentationOptions(outputs: [.mask, .pyramid], slideMPP: 0.25))
        let level0 = try TIFFSlide(path: out + "/histo_he.mask.tif", page: 0)
        #expect(level0.width == 500 && level0.height == 300 && level0.pageCount == 1 && !level0.isReducedResolution)
        #expect(level0.physicalScale?.source == .tiffResolution && abs(level0.physicalScale!.micronsPerPixelX - 0.25) < 1e-6)
        let pixels = try level0.readAll().pixels
        let mask = try PNGImage.readGray(out + "/histo_he.mask.png").pixels
        #expect((0..<mask.count).allSatisfy { pixels[3 * $0] == mask[$0] })
    }

    @Test func outputListsParseAndLargeSlidesGetThePyramid() throws {
        #expect(try OutputKind.parseList("mask, geojson,pyramid") == [.mask, .geojson, .pyramid])
        #expect(throws: OutputListProblem.self) { try OutputKind.parseList("mask,svg") }
        #expect(OutputKind.resolve(nil, width: 1360, height: 1024) == OutputKind.defaults)
        #expect(OutputKind.resolve(nil, width: 12_000, height: 800) == OutputKind.defaults.union([.pyramid]))
        #expect(OutputKind.resolve([.mask, .overlay], width: 40_000, height: 800) == [.pyramid, .overlay])
    }

    /// A nucleus on a tile or band seam comes out once and whole. The object step sees each region whole
    /// (`InstanceSplitterTests.rowByRowEqualsWholeImage` proves it exact on equal probabilities); here the
    /// default instance model runs on the 500 × 300 slide as one 512-px tile and as 256-px tiles in two
    /// bands, whose blended probabilities differ slightly near tile edges. Every object of the one-piece
    /// run has one counterpart (IoU > 0.5, one to one, so none is cut in two or doubled at a seam) for 99%
    /// of them, the counts differ by under 1%, and the median pair's IoU is at least 0.9. (IoU ≥ 0.99 for
    /// every object would need equal probabilities: a tile's prediction differs from the whole image's
    /// by a pixel here and there along most outlines, as its context differs.)
    @Test func objectsOnSeamsComeOutOnceAndWhole() throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let model = try ModelFile.load(path: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/DefaultModel/Resources/default-model.safetensors").path)
        let segmenter = try SlideSegmenter(model: model, threads: 2)
        let whole = try segmenter.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(tile: 512, outputs: [.geojson]), outputName: "whole")
        let tiled = try segmenter.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(tile: 256, overlap: 32, outputs: [.geojson]), outputName: "tiled")
        #expect(whole.tilesRun == 1 && tiled.tilesRun > 2 && whole.objectFilter?.method == model.metadata.objects?.method)
        func labels(_ name: String) throws -> [Int32] {
            var map = [Int32](repeating: 0, count: 500 * 300)
            for (index, feature) in try Self.features(out + "/\(name).geojson").enumerated() {
                let raster = ObjectTracerTests.rasterise(rings: feature.rings, width: 500, height: 300)
                for y in 0..<300 { for x in 0..<500 where raster[y][x] { map[y * 500 + x] = Int32(index + 1) } }
            }
            return map
        }
        let (metrics, matches) = ObjectMetrics.compareMatching(truth: try labels("whole"), prediction: try labels("tiled"))
        #expect(whole.objects > 200 && abs(whole.objects - tiled.objects) * 100 < whole.objects, "\(whole.objects) objects whole, \(tiled.objects) tiled")
        #expect(Set(matches.map(\.truth)).count == matches.count && Set(matches.map(\.predicted)).count == matches.count)
        #expect(metrics.matched * 100 >= 99 * min(whole.objects, tiled.objects), "\(metrics.matched) of \(whole.objects) matched")
        let ious = try Self.pairsAtIoU(labels("whole"), labels("tiled"), matches).sorted()
        #expect(ious[ious.count / 2] >= 0.9, "median IoU \(ious[ious.count / 2]); \(ious.filter { $0 >= 0.99 }.count) of \(whole.objects) at IoU ≥ 0.99")
    }

    /// An instance map beside a slide (`NAME.inst.png`) scores its objects: truth made of 200 of the
    /// slide's own objects is matched object for object (IoU 1), the rest are false, so F1 = PQ = 400 / (200 + N).
    @Test func instanceTruthBesideTheSlideScoresObjects() throws {
        let out = try Fixtures.temporaryDirectory().path, fields = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: fields) }
        let segmenter = try segmenter()
        let first = try segmenter.segment(slidePath: Self.slide, outputDirectory: out, options: SegmentationOptions(outputs: [.geojson]))
        #expect(first.objects > 200)
        var labels = [Int32](repeating: 0, count: 500 * 300)
        for (index, feature) in try Self.features(out + "/histo_he.geojson").prefix(200).enumerated() {
            PolygonRaster.fill(rings: feature.rings.map { $0.map { (x: $0.0, y: $0.1) } }, id: Int32(index + 1), into: &labels, width: 500, height: 300)
        }
        let writer = try PNGRowWriter(path: fields + "/field.inst.png", width: 500, height: 300, channels: 1, content: .labels)
        for y in 0..<300 { try labels[(y * 500)..<((y + 1) * 500)].map { UInt8($0) }.withUnsafeBufferPointer { try writer.write(row: $0) } }
        try writer.finish()
        try writer.publish()
        try FileManager.default.copyItem(atPath: Self.slide, toPath: fields + "/field.tif")
        let scored = try segmenter.segment(slidePath: fields + "/field.tif", outputDirectory: out, options: SegmentationOptions(outputs: [.geojson]))
        let scores = try #require(scored.scores), objects = try #require(scores.objects)
        #expect(scores.truthPath.hasSuffix("field.inst.png") && objects.truthObjects == 200 && objects.matched == 200)
        #expect(objects.predictedObjects == first.objects && abs(scores.objectF1! - 400.0 / Double(200 + first.objects)) < 1e-12)
        #expect(abs(scores.pq! - scores.objectF1!) < 1e-12 && scores.aji! > 0 && scores.aji! < 1)
    }

    /// The IoU of each matched pair.
    static func pairsAtIoU(_ a: [Int32], _ b: [Int32], _ matches: [(truth: Int32, predicted: Int32)]) -> [Double] {
        var areaA: [Int32: Int] = [:], areaB: [Int32: Int] = [:], shared: [Int64: Int] = [:]
        for i in a.indices {
            if a[i] != 0 { areaA[a[i], default: 0] += 1 }
            if b[i] != 0 { areaB[b[i], default: 0] += 1 }
            if a[i] != 0 && b[i] != 0 { shared[Int64(a[i]) << 32 | Int64(b[i]), default: 0] += 1 }
        }
        return matches.map { pair in
            let both = shared[Int64(pair.truth) << 32 | Int64(pair.predicted)] ?? 0
            return Double(both) / Double(areaA[pair.truth]! + areaB[pair.predicted]! - both)
        }
    }
}
