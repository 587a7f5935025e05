import Foundation

extension StainVectors {
    /// Macenko et al. (2009)'s estimate from a sample of a slide's tissue pixels (8-bit RGB triples):
    /// pixels with an OD under `transparency` in any channel are dropped; the rest are projected onto
    /// the plane of the two main directions of their OD (eigenvectors of its covariance), and the
    /// directions at the 1st and 99th percentile of angle in that plane are the two stains, the one
    /// with more red OD being hematoxylin. When the sample is too small or the result is not credible
    /// as H&E (a stain off its standard direction by more than `maximumDeviation` degrees, negative OD,
    /// or two stains too alike), the standard vectors are returned with the reason.
    public static func macenko(rgb: [UInt8], transparency: Double = 0.15, percentile: Double = 0.01,
                               minimumPixels: Int = 500, maximumDeviation: Double = 30) -> StainVectors {
        var densities: [SIMD3<Double>] = []
        densities.reserveCapacity(rgb.count / 3)
        for index in stride(from: 0, to: rgb.count - 2, by: 3) {
            let od = SIMD3(StainDeconvolution.opticalDensity(rgb[index]), StainDeconvolution.opticalDensity(rgb[index + 1]),
                           StainDeconvolution.opticalDensity(rgb[index + 2]))
            if od.min() >= transparency { densities.append(od) }
        }
        guard densities.count >= minimumPixels else {
            return .standard(because: "\(densities.count) stained pixels in the tissue sample, fewer than \(minimumPixels)")
        }
        let mean = densities.reduce(SIMD3<Double>.zero, +) / Double(densities.count)
        var covariance = [[Double]](repeating: [0, 0, 0], count: 3)
        for od in densities {
            let d = od - mean
            for i in 0..<3 { for j in 0..<3 { covariance[i][j] += d[i] * d[j] } }
        }
        let (values, vectors) = SymmetricEigen3.decompose(covariance)
        let order = (0..<3).sorted { values[$0] > values[$1] }
        func positive(_ v: SIMD3<Double>) -> SIMD3<Double> { v.sum() < 0 ? -v : v }
        let first = positive(vectors[order[0]]), second = positive(vectors[order[1]])
        let angles = densities.map { atan2(($0 * second).sum(), ($0 * first).sum()) }.sorted()
        func angle(at fraction: Double) -> Double { angles[min(angles.count - 1, Int(fraction * Double(angles.count - 1)))] }
        let low = angle(at: percentile), high = angle(at: 1 - percentile)
        let a = unit(first * cos(low) + second * sin(low)), b = unit(first * cos(high) + second * sin(high))
        let (h, e) = a.x > b.x ? (a, b) : (b, a)
        if min(h.min(), e.min()) < -0.05 { return .standard(because: "the estimate has negative optical density") }
        let hDeviation = degrees(h, standardHematoxylin), eDeviation = degrees(e, standardEosin)
        if hDeviation > maximumDeviation || eDeviation > maximumDeviation {
            return .standard(because: String(format: "the estimate is %.0f° (hematoxylin) and %.0f° (eosin) from H&E, over %.0f°",
                                             hDeviation, eDeviation, maximumDeviation))
        }
        if degrees(h, e) < 5 { return .standard(because: "the two estimated stains are less than 5° apart") }
        return StainVectors(hematoxylin: pointwiseMax(h, .zero), eosin: pointwiseMax(e, .zero), source: .macenko)
    }
}

/// Eigen-decomposition of a symmetric 3 × 3 matrix by Jacobi rotations (exact to rounding in a few sweeps).
enum SymmetricEigen3 {
    /// Eigenvalues and the matching unit eigenvectors.
    static func decompose(_ matrix: [[Double]]) -> (values: [Double], vectors: [SIMD3<Double>]) {
        var a = matrix
        var v: [[Double]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        for _ in 0..<50 {
            let off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2]
            if off < 1e-30 { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] where abs(a[p][q]) > 1e-300 {
                let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<3 {  // A ← A·J
                    let akp = a[k][p], akq = a[k][q]
                    a[k][p] = c * akp - s * akq
                    a[k][q] = s * akp + c * akq
                }
                for k in 0..<3 {  // A ← Jᵀ·A
                    let apk = a[p][k], aqk = a[q][k]
                    a[p][k] = c * apk - s * aqk
                    a[q][k] = s * apk + c * aqk
                }
                for k in 0..<3 {
                    let vkp = v[k][p], vkq = v[k][q]
                    v[k][p] = c * vkp - s * vkq
                    v[k][q] = s * vkp + c * vkq
                }
            }
        }
        return ([a[0][0], a[1][1], a[2][2]], (0..<3).map { SIMD3(v[0][$0], v[1][$0], v[2][$0]) })
    }
}
