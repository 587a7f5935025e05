import SlideIO

/// Background skip: a subsampled pass over the slide builds a saturation histogram, Otsu's method
/// splits it, and a tile whose pixels almost all fall below the split is glass, not tissue. The same
/// pass measures the tissue's share of the slide and keeps a sample of its pixels, from which the
/// slide's stain vectors are estimated.
struct TissueDetector {
    /// Saturation (0…255) above which a pixel counts as tissue.
    let threshold: Int
    /// The share of the slide's pixels that are tissue.
    let tissueFraction: Double
    /// RGB triples of up to `stainSampleSize` tissue pixels, spread evenly over the slide.
    let stainSample: [UInt8]
    /// Fraction of tissue pixels below which a tile is skipped.
    static let minimumTissueFraction = 0.01
    static let stainSampleSize = 100_000
    /// Saturation (0…255) above which a pixel is never glass, whatever Otsu's split says.
    static let glassSaturation = 40

    init(slide: TIFFSlide, step: Int = 4, bandRows: Int = 256) throws(SlideError) {
        var histogram = [Int](repeating: 0, count: 256)
        // Every `sampleEvery`-th surveyed pixel joins the stain sample (with its saturation, to be
        // sorted into tissue or glass once the threshold is known).
        let surveyed = ((slide.width + step - 1) / step) * ((slide.height + step - 1) / step)
        let sampleEvery = max(1, surveyed / Self.stainSampleSize)
        var candidates: [(rgb: (UInt8, UInt8, UInt8), saturation: UInt8)] = []
        var seen = 0
        var y = 0
        while y < slide.height {
            let rows = min(bandRows, slide.height - y)
            let band = try slide.readRows(y, count: rows)
            for row in stride(from: (step - y % step) % step, to: rows, by: step) {
                for x in stride(from: 0, to: slide.width, by: step) {
                    let index = (row * band.width + x) * 3
                    let saturation = Self.saturation(band.pixels, index)
                    histogram[saturation] += 1
                    if seen % sampleEvery == 0 {
                        candidates.append(((band.pixels[index], band.pixels[index + 1], band.pixels[index + 2]), UInt8(saturation)))
                    }
                    seen += 1
                }
            }
            y += rows
        }
        threshold = Self.otsu(histogram)
        // On a slide that is tissue throughout, Otsu splits the tissue itself; no stained pixel is
        // as grey as glass, so the area counts every pixel above the lower of the two thresholds.
        let tissueThreshold = min(threshold, Self.glassSaturation)
        let total = histogram.reduce(0, +)
        tissueFraction = total > 0 ? Double(histogram[(tissueThreshold + 1)...].reduce(0, +)) / Double(total) : 0
        stainSample = candidates.filter { Int($0.saturation) > tissueThreshold }.flatMap { [$0.rgb.0, $0.rgb.1, $0.rgb.2] }
    }

    /// Whether the `width × height` window at (`x`, 0) of `band` holds enough tissue to be worth inferring.
    func hasTissue(_ band: RGBImage, x: Int, width: Int, height: Int) -> Bool {
        var tissue = 0, total = 0
        for row in 0..<min(height, band.height) {
            for column in x..<min(x + width, band.width) {
                tissue += Self.saturation(band.pixels, (row * band.width + column) * 3) > threshold ? 1 : 0
                total += 1
            }
        }
        return total > 0 && Double(tissue) >= Self.minimumTissueFraction * Double(total)
    }

    static func saturation(_ pixels: [UInt8], _ index: Int) -> Int {
        let r = Int(pixels[index]), g = Int(pixels[index + 1]), b = Int(pixels[index + 2])
        let high = max(r, g, b), low = min(r, g, b)
        return high == 0 ? 0 : (high - low) * 255 / high
    }

    /// Otsu's threshold: the split maximising between-class variance.
    static func otsu(_ histogram: [Int]) -> Int {
        let total = Double(histogram.reduce(0, +))
        let weightedTotal = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset * $1.element) }
        var background = 0.0, weightedBackground = 0.0, best = 0.0, threshold = 0
        for level in 0..<256 {
            background += Double(histogram[level])
            weightedBackground += Double(level * histogram[level])
            let foreground = total - background
            guard background > 0, foreground > 0 else { continue }
            let difference = weightedBackground / background - (weightedTotal - weightedBackground) / foreground
            let variance = background * foreground * difference * difference
            if variance > best { best = variance; threshold = level }
        }
        return threshold
    }
}
