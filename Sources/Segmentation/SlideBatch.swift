import Foundation
import SlideIO
import UNetCore

/// `unet segment` over a list of slides: the shard's slides only, those already done with this model
/// skipped on request, every slide's outcome recorded, and one failure never stopping the rest.
public struct SlideBatch {
    public enum Outcome: String, Sendable {
        case segmented, skipped, failed
    }

    /// One slide's line in the status CSV.
    public struct Row: Sendable {
        public var slide: String
        public var outcome: Outcome
        public var seconds: Double
        public var error: String?
        /// Set when segmented.
        public var summary: SegmentationSummary?

        public init(slide: String, outcome: Outcome, seconds: Double, error: String? = nil, summary: SegmentationSummary? = nil) {
            self.slide = slide
            self.outcome = outcome
            self.seconds = seconds
            self.error = error
            self.summary = summary
        }
    }

    public let segmenter: SlideSegmenter
    public let options: SegmentationOptions
    public let outputDirectory: String
    /// Only this shard's slides run (nil: all).
    public var shard: SlideShard?
    /// Skip a slide whose `NAME.result.json` names the same model sha256.
    public var skipExisting = false

    public init(segmenter: SlideSegmenter, options: SegmentationOptions, outputDirectory: String) {
        self.segmenter = segmenter
        self.options = options
        self.outputDirectory = outputDirectory
    }

    /// The slides of `slides` this batch owns, in the order given.
    public func owned(_ slides: [String]) -> [String] {
        guard let shard else { return slides }
        return slides.filter { shard.contains($0) }
    }

    /// Runs every owned slide; `progress` sees each slide's tiles, `finished` each row as it is decided.
    public func run(_ slides: [String], progress: (String, SegmentationProgress) -> Void = { _, _ in },
                    finished: (Row) -> Void = { _ in }) -> [Row] {
        var rows: [Row] = []
        for slide in owned(slides) {
            let started = ContinuousClock.now
            var row: Row
            if skipExisting, hasResult(for: slide) {
                row = Row(slide: slide, outcome: .skipped, seconds: 0)
            } else {
                row = withoutActuallyEscaping(progress) { progress in
                    do {
                        let summary = try segmenter.segment(slidePath: slide, outputDirectory: outputDirectory, options: options,
                                                            progress: { progress(slide, $0) })
                        return Row(slide: slide, outcome: .segmented, seconds: 0, summary: summary)
                    } catch {
                        return Row(slide: slide, outcome: .failed, seconds: 0, error: "\(error)")
                    }
                }
            }
            row.seconds = (ContinuousClock.now - started).seconds
            finished(row)
            rows.append(row)
        }
        return rows
    }

    /// Whether `slide`'s summary is in the output directory and names this segmenter's model. The
    /// summary is published last, so its presence means every output is there.
    public func hasResult(for slide: String) -> Bool {
        let summary = OutputPaths(slide: slide, directory: outputDirectory, kinds: []).summary
        guard let data = FileManager.default.contents(atPath: summary),
              let fields = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = fields["model"] as? [String: Any] else { return false }
        return model["sha256"] as? String == segmenter.model.sha256
    }

    /// `slide,outcome,seconds,error` with a header, quoted where a field needs it (RFC 4180).
    public static func statusCSV(_ rows: [Row]) -> String {
        let lines = rows.map { row in
            [CSVField.escaped(row.slide), row.outcome.rawValue, String(format: "%.3f", row.seconds), CSVField.escaped(row.error ?? "")]
                .joined(separator: ",")
        }
        return (["slide,outcome,seconds,error"] + lines).map { $0 + "\n" }.joined()
    }
}
