import Foundation

/// Losses on one-class logits `[N, 1, H, W]` against binary targets, with their gradients.
public enum TrainingLoss: String, Codable, Sendable, CaseIterable {
    /// `BCEWithLogitsLoss` (mean over all pixels), the reference project's loss.
    case bce
    /// BCE plus soft Dice `1 − mean_n (2Σpt + 1)/(Σp + Σt + 1)`.
    case bceDice = "bce+dice"

    /// Returns the loss and writes d loss / d logits into `gradient`.
    public func evaluate(logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, images: Int, pixels: Int,
                         gradient: UnsafeMutablePointer<Float>) -> Float {
        let count = images * pixels
        var total: Double = 0
        for i in 0..<count {
            let z = logits[i], t = targets[i]
            total += Double(max(z, 0) - z * t + log1p(exp(-abs(z))))
            gradient[i] = (1 / (1 + exp(-z)) - t) / Float(count)
        }
        var loss = Float(total / Double(count))
        guard self == .bceDice else { return loss }
        var diceSum: Float = 0
        for n in 0..<images {
            let z = logits + n * pixels, t = targets + n * pixels, g = gradient + n * pixels
            var intersection: Float = 0, sum: Float = 0
            for i in 0..<pixels { let p = 1 / (1 + exp(-z[i])); intersection += p * t[i]; sum += p + t[i] }
            let numerator = 2 * intersection + 1, denominator = sum + 1
            diceSum += numerator / denominator
            for i in 0..<pixels {
                let p = 1 / (1 + exp(-z[i]))
                let dDice = (2 * t[i] * denominator - numerator) / (denominator * denominator)
                g[i] += -dDice / Float(images) * p * (1 - p)
            }
        }
        loss += 1 - diceSum / Float(images)
        return loss
    }
}
