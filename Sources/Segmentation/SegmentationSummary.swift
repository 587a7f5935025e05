import Foundation
import UNetCore
import UNetEngine

/// `NAME.result.json`: what was segmented, with what, how long each stage took, and the scores when
/// ground truth was present.
public struct SegmentationSummary: Codable, Sendable {
    public struct Model: Codable, Sendable {
        public var path: String
        public var sha256: String
        public var architecture: String
    }

    /// Seconds by stage; `total` is the slide's wall time. Work overlapped with inference on the encoder
    /// thread (encoding, and decoding the next band, counted in `decode`) is that thread's CPU time: it
    /// runs at a lower priority, mostly on cores the engine leaves idle, so its wall time would mostly be waiting.
    public struct Timings: Codable, Sendable {
        public var decode = 0.0, preprocess = 0.0, inference = 0.0, stitch = 0.0, encode = 0.0, total = 0.0
        /// Of `encode`: the object step (tracing, splitting, measuring, GeoJSON and CSV), CPU seconds.
        public var objects = 0.0
        /// Of `objects`: measuring (colour deconvolution of the objects' pixels, shapes, the slide summary), CPU seconds.
        public var measurements = 0.0
    }

    public struct Scores: Codable, Sendable {
        public var truthPath: String
        public var accuracy: Double
        public var dice: Double
        public var iou: Double
        /// Accuracy of an all-background mask, for scale.
        public var backgroundAccuracy: Double
        public var counts: ConfusionCounts
        /// With instance truth (`NAME.inst.png`): object F1 at IoU > 0.5, AJI, PQ and their counts.
        public var objectF1: Double?
        public var aji: Double?
        public var pq: Double?
        public var objects: ObjectMetrics?

        enum CodingKeys: String, CodingKey {
            case truthPath = "truth_path", accuracy, dice, iou, backgroundAccuracy = "background_accuracy", counts
            case objectF1 = "object_f1", aji, pq, objects
        }
    }

    /// Who the slide is, when the caller knows better than its path (the daemon's spool path is not
    /// the name the lab dropped), and which earlier slide had the same content and model.
    public struct Provenance: Sendable {
        public var slideName: String
        public var duplicateOf: String?
        public init(slideName: String, duplicateOf: String? = nil) {
            self.slideName = slideName
            self.duplicateOf = duplicateOf
        }
    }

    public var slide: String
    /// The earlier slide with the same content and model (the daemon reuses or repeats its result).
    public var duplicateOf: String?
    public var width: Int
    public var height: Int
    public var page: Int
    public var pageCount: Int
    public var networkWidth: Int
    public var networkHeight: Int
    public var tileWidth: Int
    public var tileHeight: Int
    public var overlap: Int
    public var tilesRun: Int
    public var tilesSkipped: Int
    public var model: Model
    /// `fp32` or `bf16`, as the network ran.
    public var precision: Precision
    /// The instruction-set path its convolutions ran on.
    public var cpuPath: CPUPath
    /// The host (`node_name`) that segmented it; absent in summaries from before node names.
    public var node: String? = NodeIdentity.current
    public var preprocessing: Preprocessing
    public var threshold: Float
    /// The input scale actually used (explicit, from MPP, or the model's).
    public var inputScale: Double
    /// The slide's µm per pixel and where it was read (`aperio`, `ome`, `tiff-resolution`, `flag`), and the model's.
    @EncodedAsNull public var slideMPP: Double?
    @EncodedAsNull public var mppSource: PhysicalScale.Source?
    @EncodedAsNull public var modelMPP: Double?
    /// Objects listed in the GeoJSON and the CSV (those of at least the minimum area).
    public var objects: Int
    /// How objects were separated and which the area bounds left out.
    public var objectFilter: ObjectFilter?
    /// What the run did differently from what was asked, in words (empty when nothing).
    public var warnings: [String]
    public var positiveFraction: Double
    public var timings: Timings
    public var megapixelsPerSecond: Double
    public var outputs: [String: String]
    public var overlayWidth: Int?
    public var overlayHeight: Int?
    public var scores: Scores?
    /// The slide's nuclei in figures: count, density over the tissue, spreads of area, circularity and hematoxylin OD.
    public var nuclei: NucleusSummary?
    /// The H&E vectors the objects' stain measurements used, and whether they were estimated from the slide.
    public var stainVectors: StainVectors?

    enum CodingKeys: String, CodingKey {
        case slide, duplicateOf = "duplicate_of", width, height, page, pageCount = "page_count", networkWidth = "network_width"
        case networkHeight = "network_height", tileWidth = "tile_width", tileHeight = "tile_height", overlap
        case tilesRun = "tiles_run", tilesSkipped = "tiles_skipped", model, precision, cpuPath = "cpu_path", node, preprocessing, threshold
        case inputScale = "input_scale", slideMPP = "slide_mpp", mppSource = "mpp_source", modelMPP = "model_mpp", objects, objectFilter = "object_filter", warnings
        case positiveFraction = "positive_fraction", timings
        case megapixelsPerSecond = "megapixels_per_second", outputs, overlayWidth = "overlay_width"
        case overlayHeight = "overlay_height", scores, nuclei = "summary", stainVectors = "stain_vectors"
    }
}

extension SegmentationSummary {
    /// The summary in the `NAME.result.json` at `path`, or nil when it is missing or too old to decode.
    public static func read(from path: String) -> SegmentationSummary? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(SegmentationSummary.self, from: data)
    }

    /// The bytes of `NAME.result.json`: pretty, sorted keys.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
