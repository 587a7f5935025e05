/// A slide's nuclei in a few figures, for result.json, the metrics log and `summary.csv`: how many,
/// over how much tissue, and the median and interquartile range of their area, circularity and
/// hematoxylin OD, with a histogram of areas. µm figures are absent when the MPP is unknown.
public struct NucleusSummary: Codable, Sendable, Equatable {
    /// Median and quartiles of one measurement (each within its bin width of the exact value, see `Accumulator`).
    public struct Spread: Codable, Sendable, Equatable {
        public var median: Double
        public var q1: Double
        public var q3: Double
        public var iqr: Double { q3 - q1 }

        enum CodingKeys: String, CodingKey { case median, q1, q3, iqr }

        public init(median: Double, q1: Double, q3: Double) {
            self.median = median
            self.q1 = q1
            self.q3 = q3
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(median: try container.decode(Double.self, forKey: .median), q1: try container.decode(Double.self, forKey: .q1),
                      q3: try container.decode(Double.self, forKey: .q3))
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(median, forKey: .median)
            try container.encode(q1, forKey: .q1)
            try container.encode(q3, forKey: .q3)
            try container.encode(Accumulator.rounded(iqr), forKey: .iqr)
        }
    }

    /// Nucleus areas in fixed bins: `[edges[i], edges[i+1])` µm², the last bin from the last edge up.
    public struct AreaHistogram: Codable, Sendable, Equatable {
        public var edgesUM2: [Double]
        public var counts: [Int]
        enum CodingKeys: String, CodingKey { case edgesUM2 = "edges_um2", counts }
    }

    public var nuclei: Int
    /// Tissue area from the tissue detector's survey (pixels above its saturation threshold).
    public var tissueAreaMM2: Double?
    public var nucleiPerMM2: Double?
    public var areaPixels: Spread?
    public var areaMicrons: Spread?
    public var circularity: Spread?
    public var hematoxylinOD: Spread?
    public var areaHistogram: AreaHistogram?

    enum CodingKeys: String, CodingKey {
        case nuclei, tissueAreaMM2 = "tissue_area_mm2", nucleiPerMM2 = "nuclei_per_mm2", areaPixels = "area_px"
        case areaMicrons = "area_um2", circularity, hematoxylinOD = "hematoxylin_od", areaHistogram = "area_histogram"
    }

    /// The histogram's edges: every 10 µm² from 0 to 200, and one bin beyond.
    public static let areaHistogramEdges = Array(stride(from: 0.0, through: 200, by: 10))

    /// Collects the figures object by object, in constant memory.
    public struct Accumulator: Sendable {
        private var areaPixels = BinnedQuantiles(lower: 0, upper: 20_000, binWidth: 1)
        private var areaMicrons = BinnedQuantiles(lower: 0, upper: 2_000, binWidth: 0.25)
        private var circularity = BinnedQuantiles(lower: 0, upper: 1, binWidth: 0.001)
        private var hematoxylin = BinnedQuantiles(lower: -0.5, upper: 3, binWidth: 0.001)
        private var histogram = [Int](repeating: 0, count: NucleusSummary.areaHistogramEdges.count)
        private var hasMicrons = false
        public private(set) var count = 0

        public init() {}

        public mutating func add(areaPixels: Double, areaMicrons: Double?, circularity: Double, hematoxylinMean: Double?) {
            count += 1
            self.areaPixels.add(areaPixels)
            self.circularity.add(circularity)
            if let hematoxylinMean { hematoxylin.add(hematoxylinMean) }
            if let areaMicrons {
                hasMicrons = true
                self.areaMicrons.add(areaMicrons)
                let edges = NucleusSummary.areaHistogramEdges
                histogram[(edges.lastIndex { $0 <= areaMicrons }) ?? 0] += 1
            }
        }

        /// The summary, with the tissue area when it is known in mm².
        public func summary(tissueAreaMM2: Double?) -> NucleusSummary {
            func spread(_ q: BinnedQuantiles) -> Spread? {
                guard let median = q.quantile(0.5), let q1 = q.quantile(0.25), let q3 = q.quantile(0.75) else { return nil }
                return Spread(median: Self.rounded(median), q1: Self.rounded(q1), q3: Self.rounded(q3))
            }
            let density = tissueAreaMM2.flatMap { $0 > 0 ? Self.rounded(Double(count) / $0) : nil }
            return NucleusSummary(nuclei: count, tissueAreaMM2: tissueAreaMM2.map { (($0 * 1e6).rounded()) / 1e6 }, nucleiPerMM2: density,
                                  areaPixels: spread(areaPixels), areaMicrons: hasMicrons ? spread(areaMicrons) : nil,
                                  circularity: spread(circularity), hematoxylinOD: spread(hematoxylin),
                                  areaHistogram: hasMicrons ? AreaHistogram(edgesUM2: NucleusSummary.areaHistogramEdges, counts: histogram) : nil)
        }

        /// To 4 decimals, as the summary gives its figures.
        public static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
    }
}
