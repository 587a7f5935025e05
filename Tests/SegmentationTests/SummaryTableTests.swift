import Foundation
import TestSupport
import Testing
import UNetCore
import UNetEngine
@testable import Segmentation

/// `NAME.summary.csv` and the directory's `summary.csv`: the same figures as result.json, one row per
/// slide however many writers share the directory.
@Suite struct SummaryTableTests {
    static func rows(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0).map { ($0, $1) }) }
    }

    @Test func aSlidesRowMatchesItsResultAndReplacesItsEarlierOne() throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let segmenter = try SlideSegmenter(model: try ModelFile.load(path: Fixtures.engine("ref_bilinear_c1_bias.pth")), threads: 2)
        let slide = Fixtures.path("slides/histo_he.tif")
        let options = SegmentationOptions(outputs: [.objects], slideMPP: 0.5, minimumObjectArea: .pixels(0))
        let first = try segmenter.segment(slidePath: slide, outputDirectory: out, options: options)
        _ = try segmenter.segment(slidePath: slide, outputDirectory: out, options: options, outputName: "again")
        _ = try segmenter.segment(slidePath: slide, outputDirectory: out, options: options)  // the same name once more

        let own = try Self.rows(out + "/histo_he.summary.csv")
        #expect(own.count == 1)
        let row = own[0], nuclei = try #require(first.nuclei)
        #expect(row["name"] == "histo_he" && row["nuclei"] == "\(first.objects)" && nuclei.nuclei == first.objects && first.objects > 3)
        #expect(Double(row["area_um2_median"]!) == nuclei.areaMicrons?.median && Double(row["circularity_iqr"]!) != nil)
        #expect(Double(row["hematoxylin_od_median"]!) == nuclei.hematoxylinOD?.median)
        #expect(Double(row["tissue_area_mm2"]!) == nuclei.tissueAreaMM2 && nuclei.tissueAreaMM2! > 0)
        #expect(nuclei.tissueAreaMM2! <= 500 * 300 * 0.25 / 1e6)
        #expect(abs(nuclei.nucleiPerMM2! - Double(first.objects) / nuclei.tissueAreaMM2!) < 0.01)
        let histogram = SummaryTable.header.filter { $0.hasPrefix("area_") && $0.hasSuffix("_um2") && !$0.contains("median") && !$0.contains("q1") && !$0.contains("q3") && !$0.contains("iqr") }
        #expect(histogram.count == NucleusSummary.areaHistogramEdges.count)
        #expect(histogram.map { Int(row[$0]!)! }.reduce(0, +) == first.objects)
        #expect(first.stainVectors != nil && row["stain_vectors"] == first.stainVectors?.source.rawValue)

        // The shared table: one row per name, the repeated slide's replaced rather than doubled.
        let table = try Self.rows(out + "/" + SummaryTable.fileName)
        #expect(table.map { $0["name"]! }.sorted() == ["again", "histo_he"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/histo_he.result.json"))) as! [String: Any]
        let summary = try #require(json["summary"] as? [String: Any])
        #expect(summary["nuclei"] as? Int == first.objects && (summary["area_um2"] as? [String: Any])?["iqr"] != nil)
        #expect((json["stain_vectors"] as? [String: Any])?["hematoxylin"] as? [Double] != nil)
        #expect((json["outputs"] as? [String: String])?["summary_csv"] == out + "/histo_he.summary.csv")
    }

    /// Writers that each open their own lock (as separate workers and daemons do) lose no row and double none.
    @Test func concurrentWritersLoseNoRow() throws {
        let out = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let blank = [String](repeating: "", count: SummaryTable.header.count - 1)
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            for slide in 0..<15 {
                // Each slide twice: the second replaces the first.
                for _ in 0..<2 { try! SummaryTable.record(["w\(writer)s\(slide)"] + blank, in: out) }
            }
        }
        let names = try Self.rows(out + "/" + SummaryTable.fileName).map { $0["name"]! }
        #expect(names.count == 120 && Set(names).count == 120)
    }
}
