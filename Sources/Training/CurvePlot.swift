import SlideIO

/// `curves.png`: training loss (red, scaled to its maximum) and validation Dice (blue, 0–1) per epoch,
/// on a light grid, drawn pixel by pixel so no plotting library is needed.
enum CurvePlot {
    static let width = 640, height = 400, margin = 40

    static func write(_ history: [EpochRecord], to path: String) throws(SlideError) {
        var canvas = [UInt8](repeating: 255, count: width * height * 3)
        func set(_ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let i = (y * width + x) * 3
            (canvas[i], canvas[i + 1], canvas[i + 2]) = colour
        }
        func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ colour: (UInt8, UInt8, UInt8)) {
            let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for s in 0...steps {
                let x = x0 + (x1 - x0) * s / steps, y = y0 + (y1 - y0) * s / steps
                set(x, y, colour); set(x, y + 1, colour)
            }
        }
        let plotWidth = width - 2 * margin, plotHeight = height - 2 * margin
        for i in 0...10 {  // grid: tenths of the vertical range
            let y = margin + plotHeight * i / 10
            line(margin, y, width - margin, y, (225, 225, 225))
        }
        line(margin, margin, margin, height - margin, (0, 0, 0))
        line(margin, height - margin, width - margin, height - margin, (0, 0, 0))
        guard !history.isEmpty else { return try save(canvas, path) }
        let maximumLoss = max(history.map(\.trainLoss).max()!, 1e-9)
        func point(_ index: Int, _ value: Double) -> (Int, Int) {
            let x = margin + (history.count == 1 ? plotWidth / 2 : plotWidth * index / (history.count - 1))
            return (x, height - margin - Int(Double(plotHeight) * min(max(value, 0), 1)))
        }
        for (index, record) in history.enumerated() {
            let loss = point(index, record.trainLoss / maximumLoss)
            if index > 0 { let p = point(index - 1, history[index - 1].trainLoss / maximumLoss); line(p.0, p.1, loss.0, loss.1, (220, 40, 40)) }
            if let dice = record.validationDice {
                let q = point(index, dice)
                if index > 0, let previous = history[index - 1].validationDice {
                    let p = point(index - 1, previous); line(p.0, p.1, q.0, q.1, (40, 80, 220))
                }
                for d in -2...2 { set(q.0 + d, q.1, (40, 80, 220)); set(q.0, q.1 + d, (40, 80, 220)) }
            }
        }
        // Legend: red = loss / max loss, blue = validation Dice.
        for x in 0..<20 { for y in 0..<4 { set(width - margin - 60 + x, margin / 2 + y, (220, 40, 40)); set(width - margin - 30 + x, margin / 2 + y, (40, 80, 220)) } }
        try save(canvas, path)
    }

    private static func save(_ canvas: [UInt8], _ path: String) throws(SlideError) {
        let writer = try PNGRowWriter(path: path, width: width, height: height, channels: 3)
        for y in 0..<height {
            try canvas[(y * width * 3)..<((y + 1) * width * 3)].withUnsafeBufferPointer { (row) throws(SlideError) in try writer.write(row: row) }
        }
        try writer.finish()
        try writer.publish()
    }
}
