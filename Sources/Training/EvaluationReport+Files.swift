import Foundation
import SlideIO
import UNetCore

/// `unet eval --report DIR`: `eval.csv` (one row per image), `eval.svg` and `eval.png` (per-image Dice
/// as sorted bars, per-image accuracy as dots, the pooled Dice and the all-background baseline as
/// lines) and `worst-K-NAME.png` overlays of the lowest-Dice images.
extension EvaluationReport {
    public static let csvHeader = "name,accuracy,dice,iou,predicted_positive_fraction,truth_positive_fraction"
    /// Added when the truth has instances: objects predicted and true, matched at IoU > 0.5, F1, AJI, PQ.
    public static let objectColumns = ",predicted_objects,truth_objects,matched_objects,object_f1,aji,pq"

    public var csv: String {
        let withObjects = images.contains { $0.objects != nil }
        let rows = images.map { image in
            var fields = [CSVField.escaped(image.name), String(format: "%.6f", image.accuracy), String(format: "%.6f", image.dice), String(format: "%.6f", image.iou),
                          String(format: "%.6f", image.predictedPositive), String(format: "%.6f", image.truthPositive)]
            if withObjects {
                fields += image.objects.map { o in
                    ["\(o.predictedObjects)", "\(o.truthObjects)", "\(o.matched)", String(format: "%.6f", o.f1),
                     String(format: "%.6f", o.aggregatedJaccard), String(format: "%.6f", o.panopticQuality)]
                } ?? Array(repeating: "", count: 6)
            }
            return fields.joined(separator: ",")
        }
        return ([Self.csvHeader + (withObjects ? Self.objectColumns : "")] + rows).map { $0 + "\n" }.joined()
    }

    /// The thumbnail file name of the `rank`-th worst image (1-based).
    public static func thumbnailName(rank: Int, image: String) -> String {
        "worst-\(rank)-" + FileNameBudget.bounded(URL(fileURLWithPath: image).deletingPathExtension().lastPathComponent, limit: 200) + ".png"
    }

    public func chart(title: String) -> Drawing {
        var drawing = Drawing(width: 860, height: 620)
        let plot = (left: 70.0, right: 800.0, top: 60.0, bottom: 400.0)
        let ticks = AxisTicks(to: 1)
        func y(_ value: Double) -> Double { plot.bottom - (plot.bottom - plot.top) * value }
        drawing.text(Drawing.fitted(title, width: 840), 430, 28, anchor: .middle, bold: true)
        for value in ticks.values {
            drawing.line(plot.left, y(value), plot.right, y(value), .grid)
            drawing.line(plot.left - 5, y(value), plot.left, y(value))
            drawing.text(ticks.label(value), plot.left - 8, y(value) + 4, anchor: .end)
        }
        drawing.text("Dice, accuracy", 24, (plot.top + plot.bottom) / 2, anchor: .middle, vertical: true)
        let sorted = images.sorted { ($0.dice, $0.name) < ($1.dice, $1.name) }
        let slot = (plot.right - plot.left) / Double(max(sorted.count, 1))
        for (rank, image) in sorted.enumerated() {
            let x = plot.left + slot * Double(rank)
            drawing.add(.rectangle(x: x + slot * 0.1, y: y(image.dice), width: max(slot * 0.8, 1), height: plot.bottom - y(image.dice), fill: .blue))
            drawing.add(.circle(x: x + slot / 2, y: y(image.accuracy), radius: min(3, max(slot / 3, 1.5)), fill: .grey))
        }
        drawing.line(plot.left, plot.top, plot.left, plot.bottom)
        drawing.line(plot.left, plot.bottom, plot.right, plot.bottom)
        drawing.text("1", plot.left + slot / 2, plot.bottom + 18, anchor: .middle)
        if sorted.count > 1 { drawing.text(String(sorted.count), plot.right - slot / 2, plot.bottom + 18, anchor: .middle) }
        drawing.text("images, sorted by Dice (worst left)", (plot.left + plot.right) / 2, plot.bottom + 36, anchor: .middle)
        // The reference lines carry their values in the legend, where no bar can cover them.
        drawing.line(plot.left, y(pooledDice), plot.right, y(pooledDice), .red, width: 2, dashed: true)
        drawing.line(plot.left, y(backgroundBaselineAccuracy), plot.right, y(backgroundBaselineAccuracy), .green, width: 2, dashed: true)

        let legend: [[(String, Drawing.Colour)]] = [
            [("Dice per image (bars)", .blue), ("accuracy per image (dots)", .grey)],
            [("pooled Dice \(String(format: "%.4f", pooledDice))", .red),
             ("all-background baseline: accuracy \(String(format: "%.4f", backgroundBaselineAccuracy)), Dice 0", .green)],
        ]
        for (row, entries) in legend.enumerated() {
            var legendX = plot.left
            for (label, colour) in entries {
                drawing.add(.rectangle(x: legendX, y: 450 + 20 * Double(row), width: 14, height: 10, fill: colour))
                drawing.text(label, legendX + 20, 460 + 20 * Double(row))
                legendX += 20 + Double(label.count * 8) + 24
            }
        }
        drawing.text(String(format: "mean of %d images: accuracy %.4f, Dice %.4f, IoU %.4f; threshold %.2f",
                            images.count, meanAccuracy, meanDice, meanIoU, Double(threshold)), plot.left, 508)
        if !worst.isEmpty {
            drawing.text("worst (overlays worst-K-NAME.png: yellow = true positive, red = false positive, blue = missed):", plot.left, 532)
            for (index, thumbnail) in worst.enumerated() {
                let line = "\(index + 1). Dice \(String(format: "%.4f", thumbnail.dice))  \(thumbnail.name)"
                let column = Double(index % 2) * 370, row = Double(index / 2) * 18
                drawing.text(Drawing.fitted(line, width: 360), plot.left + 10 + column, 552 + row)
            }
        }
        return drawing
    }

    /// Writes eval.csv, eval.svg, eval.png and the worst images' overlays into `directory`.
    public func writeReport(to directory: String, title: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AtomicFile.write(Array(csv.utf8), to: directory + "/eval.csv")
        let drawing = chart(title: title)
        try AtomicFile.write(Array(drawing.svg(title: title).utf8), to: directory + "/eval.svg")
        try drawing.writePNG(to: directory + "/eval.png")
        for (index, thumbnail) in worst.enumerated() {
            try thumbnail.picture.writePNG(to: directory + "/" + Self.thumbnailName(rank: index + 1, image: thumbnail.name))
        }
    }
}
