import SlideIO

/// Brings probabilities from network resolution back to slide resolution (bilinear, half-pixel
/// centred) as rows stream in, keeping only the network rows still needed.
struct ProbabilityUpsampler {
    let scale: Double
    let sourceWidth: Int, sourceHeight: Int
    let networkWidth: Int, networkHeight: Int
    private var held: [Int: [Float]] = [:]
    private var nextSourceRow = 0
    private let columns: [(lower: Int, upper: Int, weight: Float)]
    private var row: [Float]

    init(scale: Double, sourceWidth: Int, sourceHeight: Int, networkWidth: Int, networkHeight: Int) {
        self.scale = scale
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.networkWidth = networkWidth
        self.networkHeight = networkHeight
        columns = (0..<sourceWidth).map { BilinearResize.sourceCoordinate($0, scale: 1 / scale, sourceLength: networkWidth) }
        row = [Float](repeating: 0, count: sourceWidth)
    }

    /// Accepts network rows `[firstRow, firstRow + rows)` and emits every slide row they complete.
    mutating func push(firstRow: Int, rows: Int, values: UnsafeBufferPointer<Float>,
                       emit: (Int, Int, UnsafeBufferPointer<Float>) throws(SlideError) -> Void) throws(SlideError) {
        for r in 0..<rows { held[firstRow + r] = Array(values[(r * networkWidth)..<((r + 1) * networkWidth)]) }
        try drain(available: firstRow + rows, emit: emit)
    }

    /// Emits the remaining slide rows once every network row has been pushed.
    mutating func finish(emit: (Int, Int, UnsafeBufferPointer<Float>) throws(SlideError) -> Void) throws(SlideError) {
        try drain(available: networkHeight, emit: emit)
    }

    private mutating func drain(available: Int, emit: (Int, Int, UnsafeBufferPointer<Float>) throws(SlideError) -> Void) throws(SlideError) {
        while nextSourceRow < sourceHeight {
            let (lower, upper, wy) = BilinearResize.sourceCoordinate(nextSourceRow, scale: 1 / scale, sourceLength: networkHeight)
            guard upper < available, let top = held[lower], let bottom = held[upper] else { return }
            for (x, (x0, x1, wx)) in columns.enumerated() {
                let a = top[x0] * (1 - wx) + top[x1] * wx, b = bottom[x0] * (1 - wx) + bottom[x1] * wx
                row[x] = a * (1 - wy) + b * wy
            }
            try row.withUnsafeBufferPointer { (values) throws(SlideError) in try emit(nextSourceRow, 1, values) }
            nextSourceRow += 1
            for key in held.keys where key < lower { held[key] = nil }
        }
    }
}
