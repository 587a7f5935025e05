import Foundation

/// Round tick values for an axis from 0 (or a given minimum) to just above a maximum: steps of 1, 2 or
/// 5 × 10ⁿ, about `target` of them, labelled with as many decimals as the step needs.
struct AxisTicks: Sendable, Equatable {
    let values: [Double]
    let decimals: Int

    var upper: Double { values.last ?? 1 }
    var lower: Double { values.first ?? 0 }

    init(from minimum: Double = 0, to maximum: Double, target: Int = 5) {
        let span = max(maximum - minimum, 1e-9)
        let rough = span / Double(max(target, 1))
        let power = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        let first = (minimum / step).rounded(.down) * step
        var values: [Double] = []
        var value = first
        while values.isEmpty || values.last! < maximum - 1e-12 * span {
            values.append(value)
            value = first + step * Double(values.count)
        }
        if values.count == 1 { values.append(first + step) }
        self.values = values
        decimals = max(0, Int((-log10(step)).rounded(.up)))
    }

    /// Integer ticks 1…count for epochs, every 1, 2, 5, 10, … so that at most about 10 show.
    init(epochs count: Int) {
        let step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].first { count / $0 <= 10 } ?? max(1, count / 10)
        values = [1.0] + stride(from: step, through: max(count, 1), by: step).filter { $0 > 1 }.map(Double.init)
        decimals = 0
    }

    func label(_ value: Double) -> String { String(format: "%.\(decimals)f", value) }
}
