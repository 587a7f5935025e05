import Foundation
import SlideIO
import UNetCore

/// `curves.svg` and `curves.png`: training loss on the left axis (its own values), validation Dice on
/// the right (0–1), epochs below, a legend in words, the epoch kept as `best.safetensors` marked with
/// its Dice, and a title naming the data, the model width and the date. Both files come from one
/// `Drawing`, so the PNG shows the same labels as the SVG.
public struct TrainingCurves: Sendable {
    public var history: [EpochRecord]
    /// The epoch saved as `best.safetensors` (0: none yet).
    public var bestEpoch: Int
    public var dataDirectory: String
    public var modelWidth: Int
    public var date: Date

    public init(history: [EpochRecord], bestEpoch: Int, dataDirectory: String, modelWidth: Int, date: Date = Date()) {
        self.history = history
        self.bestEpoch = bestEpoch
        self.dataDirectory = dataDirectory
        self.modelWidth = modelWidth
        self.date = date
    }

    static let size = (width: 860, height: 500)
    static let plot = (left: 80.0, right: 780.0, top: 70.0, bottom: 420.0)

    public var title: String {
        let day = ISO8601DateFormatter.string(from: date, timeZone: .gmt, formatOptions: [.withFullDate])
        return "unet train: \(dataDirectory), width \(modelWidth), \(day)"
    }

    public func drawing() -> Drawing {
        var drawing = Drawing(width: Self.size.width, height: Self.size.height)
        let plot = Self.plot
        let epochs = AxisTicks(epochs: history.map(\.epoch).max() ?? 1)
        let lossTicks = AxisTicks(to: max(history.map(\.trainLoss).max() ?? 1, 1e-6))
        let diceTicks = AxisTicks(to: 1, target: 5)
        let lastEpoch = max(Double(history.map(\.epoch).max() ?? 1), epochs.upper)
        func x(_ epoch: Int) -> Double {
            lastEpoch <= 1 ? (plot.left + plot.right) / 2 : plot.left + (plot.right - plot.left) * Double(epoch - 1) / (lastEpoch - 1)
        }
        func y(_ value: Double, _ ticks: AxisTicks) -> Double {
            plot.bottom - (plot.bottom - plot.top) * (value - ticks.lower) / (ticks.upper - ticks.lower)
        }

        drawing.text(Drawing.fitted(title, width: Double(Self.size.width) - 20), Double(Self.size.width) / 2, 28, anchor: .middle, bold: true)
        // Grid and ticks: loss on the left, Dice on the right, epochs below.
        for value in lossTicks.values {
            drawing.line(plot.left, y(value, lossTicks), plot.right, y(value, lossTicks), .grid)
            drawing.line(plot.left - 5, y(value, lossTicks), plot.left, y(value, lossTicks))
            drawing.text(lossTicks.label(value), plot.left - 8, y(value, lossTicks) + 4, anchor: .end, colour: .red)
        }
        for value in diceTicks.values {
            drawing.line(plot.right, y(value, diceTicks), plot.right + 5, y(value, diceTicks))
            drawing.text(diceTicks.label(value), plot.right + 8, y(value, diceTicks) + 4, colour: .blue)
        }
        for epoch in epochs.values.map({ Int($0) }) {
            drawing.line(x(epoch), plot.bottom, x(epoch), plot.bottom + 5)
            drawing.text(String(epoch), x(epoch), plot.bottom + 20, anchor: .middle)
        }
        drawing.line(plot.left, plot.top, plot.left, plot.bottom)
        drawing.line(plot.right, plot.top, plot.right, plot.bottom)
        drawing.line(plot.left, plot.bottom, plot.right, plot.bottom)
        drawing.text("epoch", (plot.left + plot.right) / 2, plot.bottom + 42, anchor: .middle)
        drawing.text("training loss", 24, (plot.top + plot.bottom) / 2, anchor: .middle, colour: .red, vertical: true)
        drawing.text(history.contains { $0.validationObjectF1 != nil } ? "validation Dice, object F1" : "validation Dice", Double(Self.size.width) - 18, (plot.top + plot.bottom) / 2, anchor: .middle, colour: .blue, vertical: true)

        // The series.
        let loss = history.map { (x: x($0.epoch), y: y($0.trainLoss, lossTicks)) }
        drawing.add(.polyline(loss, colour: .red, width: 2))
        for point in loss { drawing.add(.circle(x: point.x, y: point.y, radius: 3, fill: .red)) }
        let dice = history.compactMap { record in record.validationDice.map { (x: x(record.epoch), y: y($0, diceTicks)) } }
        drawing.add(.polyline(dice, colour: .blue, width: 2))
        for point in dice { drawing.add(.circle(x: point.x, y: point.y, radius: 3, fill: .blue)) }
        let objectF1 = history.compactMap { record in record.validationObjectF1.map { (x: x(record.epoch), y: y($0, diceTicks)) } }
        if !objectF1.isEmpty {
            drawing.add(.polyline(objectF1, colour: .purple, width: 2))
            for point in objectF1 { drawing.add(.circle(x: point.x, y: point.y, radius: 3, fill: .purple)) }
        }

        // The kept epoch.
        if let best = history.first(where: { $0.epoch == bestEpoch }) {
            drawing.line(x(best.epoch), plot.top, x(best.epoch), plot.bottom, .green, width: 1.5, dashed: true)
            let label = best.validationObjectF1.map { "best: epoch \(best.epoch), object F1 \(String(format: "%.4f", $0))" }
                ?? best.validationDice.map { "best: epoch \(best.epoch), Dice \(String(format: "%.4f", $0))" }
                ?? "best: epoch \(best.epoch), loss \(String(format: "%.4f", best.trainLoss))"
            let rightHalf = x(best.epoch) > (plot.left + plot.right) / 2
            drawing.text(label, x(best.epoch) + (rightHalf ? -6 : 6), plot.top + 16, anchor: rightHalf ? .end : .start, colour: .green)
            if let value = best.validationScore { drawing.add(.circle(x: x(best.epoch), y: y(value, diceTicks), radius: 6, fill: .green)) }
        }

        // Legend, below the plot.
        var legend: [(String, Drawing.Colour, Bool)] = [("training loss (left axis)", .red, false),
                                                        ("validation Dice (right axis)", .blue, false),
                                                        ("best epoch: best.safetensors", .green, true)]
        if !objectF1.isEmpty {
            legend = [("training loss (left)", .red, false), ("val. Dice (right)", .blue, false),
                      ("val. object F1 (right)", .purple, false), ("best.safetensors", .green, true)]
        }
        // Each entry: a 24 px swatch, 6 px, the label (8 px a character), 24 px to the next; centred.
        let legendWidth = legend.map { 30 + Double($0.0.count * 8) }.reduce(0, +) + 24 * Double(legend.count - 1)
        var legendX = (Double(Self.size.width) - legendWidth) / 2
        for (label, colour, dashed) in legend {
            drawing.line(legendX, 475, legendX + 24, 475, colour, width: 2, dashed: dashed)
            drawing.text(label, legendX + 30, 479)
            legendX += 30 + Double(label.count * 8) + 24
        }
        return drawing
    }

    /// Writes `curves.svg` and `curves.png` into `directory`, each atomically.
    public func write(to directory: String) throws {
        let drawing = drawing()
        try AtomicFile.write(Array(drawing.svg(title: title).utf8), to: directory + "/curves.svg")
        try drawing.writePNG(to: directory + "/curves.png")
    }
}
