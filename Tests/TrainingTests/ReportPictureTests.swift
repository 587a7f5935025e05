import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SlideIO
import TestSupport
import Testing
import UNetCore
import UNetEngine
@testable import Training

/// curves.svg / curves.png and the evaluation report: parsed as XML, their words checked against
/// history.jsonl and the scores.
@Suite struct ReportPictureTests {
    /// `<text>` contents of an SVG file, with each element's fill colour.
    static func texts(ofSVG path: String) throws -> [(text: String, fill: String)] {
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: path), options: [])
        #expect(document.rootElement()?.name == "svg")
        return try document.nodes(forXPath: "//*[local-name()='text']").compactMap { node in
            guard let element = node as? XMLElement else { return nil }
            return (element.stringValue ?? "", attribute("fill", of: element) ?? "")
        }
    }

    /// An attribute's value by name (swift-corelibs-foundation's `attribute(forName:)` finds nothing
    /// on elements in the SVG default namespace).
    static func attribute(_ name: String, of element: XMLElement) -> String? {
        element.attributes?.first { $0.name == name }?.stringValue
    }

    @Test func curvesNameTheAxesTicksLegendAndBestEpoch() throws {
        let output = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var options = TrainingOptions(data: Fixtures.path("brecahad_mini"), output: output)
        (options.width, options.tile, options.batch, options.epochs, options.samplesPerImage) = (2, 32, 4, 3, 2)
        (options.validationFraction, options.seed) = (0.5, 11)
        try Trainer(options: options).run(resume: false)

        let history = try String(contentsOfFile: output + "/history.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(EpochRecord.self, from: Data($0.utf8)) }
        #expect(history.count == 3)
        let texts = try Self.texts(ofSVG: output + "/curves.svg")
        let words = texts.map(\.text)
        for label in ["epoch", "training loss", "validation Dice", "training loss (left axis)", "validation Dice (right axis)",
                      "best epoch: best.safetensors", "1", "2", "3"] {
            #expect(words.contains(label), "missing \(label)")
        }
        let title = try #require(words.first { $0.hasPrefix("unet train: ") })
        #expect(title.contains(Fixtures.path("brecahad_mini")) && title.contains("width 2"))
        // The loss axis carries real loss values: its ticks start at 0 and reach the largest loss.
        let red = Drawing.Colour.red.hex, blue = Drawing.Colour.blue.hex
        let lossTicks = texts.filter { $0.fill == red }.compactMap { Double($0.text) }
        #expect(lossTicks.first == 0 && (lossTicks.max() ?? 0) >= history.map(\.trainLoss).max()!)
        #expect(texts.filter { $0.fill == blue }.compactMap { Double($0.text) } == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        // The best epoch is the first with the highest validation Dice, as best.safetensors was chosen.
        let best = history.max { ($0.validationDice ?? -1, -$0.epoch) < ($1.validationDice ?? -1, -$1.epoch) }!
        let bestLabel = "best: epoch \(best.epoch), Dice \(String(format: "%.4f", best.validationDice!))"
        #expect(words.contains(bestLabel), "\(words)")
        let kept = try ModelFile.load(path: output + "/best.safetensors")
        #expect(kept.metadata.provenance.epoch == best.epoch)

        // The PNG is drawn from the same layout.
        let png = try PNGImage.readRGB(output + "/curves.png")
        #expect(png.width == TrainingCurves.size.width && png.height == TrainingCurves.size.height)
    }

    @Test func rasterTextLandsWhereTheSVGPutsIt() {
        var drawing = Drawing(width: 200, height: 120)
        drawing.text("Dice 0.5", 100, 40, anchor: .middle)
        drawing.text("loss", 20, 110, vertical: true)
        let pixels = drawing.raster()
        func ink(_ xs: Range<Int>, _ ys: Range<Int>) -> Int {
            ys.reduce(0) { sum, y in sum + xs.filter { pixels[(y * 200 + $0) * 3] < 128 }.count }
        }
        let half = "Dice 0.5".count * 4
        #expect(ink((100 - half)..<(100 + half), 27..<44) > 40, "horizontal text is centred on its anchor, above its baseline")
        #expect(ink(0..<200, 0..<27) + ink(0..<200, 44..<70) == 0)
        #expect(ink(7..<24, (110 - 4 * 8)..<110) > 15, "vertical text rises from its anchor")
    }

    @Test func evaluationReportListsEveryImageAndTheWorst() throws {
        let directory = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let dataset = try LabelledDataset.load(directory: Fixtures.path("brecahad_mini"))
        let model = try ModelFile.load(path: Fixtures.engine("ref_bilinear_c1_bias.pth"))
        let report = EvaluationReport.evaluate(network: try model.network(), preprocessing: model.metadata.preprocessing,
                                               threshold: 0.5, images: dataset.images, threads: 1, keepingWorst: 5)
        try report.writeReport(to: directory, title: "unet eval: mini")

        let lines = try String(contentsOfFile: directory + "/eval.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "name,accuracy,dice,iou,predicted_positive_fraction,truth_positive_fraction")
        #expect(lines.count == dataset.images.count + 1)
        for (line, image) in zip(lines.dropFirst(), report.images) {
            let fields = line.split(separator: ",")
            #expect(fields[0] == image.name && Double(fields[2]).map { abs($0 - image.dice) < 1e-6 } == true)
            #expect(Double(fields[5]).map { $0 > 0 && $0 < 1 } == true, "the truth has some foreground")
        }

        let svg = try XMLDocument(contentsOf: URL(fileURLWithPath: directory + "/eval.svg"), options: [])
        let bars = try svg.nodes(forXPath: "//*[local-name()='rect']").compactMap { $0 as? XMLElement }
            .filter { Self.attribute("fill", of: $0) == Drawing.Colour.blue.hex }
        #expect(bars.count == dataset.images.count + 1, "one bar per image, plus the legend's swatch")
        let words = try Self.texts(ofSVG: directory + "/eval.svg").map(\.text)
        #expect(words.contains("pooled Dice \(String(format: "%.4f", report.pooledDice))"))
        #expect(words.contains { $0.hasPrefix("all-background baseline: accuracy \(String(format: "%.4f", report.backgroundBaselineAccuracy))") })
        #expect(words.contains("images, sorted by Dice (worst left)"))

        let worst = min(5, dataset.images.count)
        #expect(report.worst.count == worst)
        #expect(report.worst.map(\.dice) == report.images.map(\.dice).sorted().prefix(worst).map { $0 })
        for (rank, thumbnail) in report.worst.enumerated() {
            let png = try PNGImage.readRGB(directory + "/" + EvaluationReport.thumbnailName(rank: rank + 1, image: thumbnail.name))
            #expect(max(png.width, png.height) <= 320 && png.width > 0)
        }
    }
}
