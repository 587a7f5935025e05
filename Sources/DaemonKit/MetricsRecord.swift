import Foundation
import Segmentation

/// One line of `logs/metrics.jsonl`, typed: who and what (slide, job, node, model, attempts), how it
/// ended, and for a finished slide the figures of its `SegmentationSummary`, flattened under the
/// log's long-standing keys (`stages` for the timings, the scores at the top level).
struct MetricsRecord: Encodable {
    enum Outcome: String, Encodable { case done, failed }

    var time = Date()
    var slide: String
    var outcome: Outcome
    var jobID: Int64
    var node: String
    var attempts: Int
    var modelSHA256: String?
    /// Wall time of a finished slide.
    var seconds: Double?
    /// The output name (`outbox/NAME.*`) of a finished slide.
    var outputs: String?
    /// Why a slide failed.
    var error: String?
    /// The finished slide's result (absent when its result.json could not be read back).
    var result: SegmentationSummary?

    /// A finished job's line.
    static func done(_ job: Job, result: SegmentationSummary?, seconds: Double, node: String) -> MetricsRecord {
        MetricsRecord(slide: job.name, outcome: .done, jobID: job.storedID, node: node, attempts: job.attempts,
                      modelSHA256: job.modelSHA256, seconds: seconds, outputs: job.outputName, result: result)
    }

    /// A failed job's line.
    static func failed(_ job: Job, reason: String, node: String) -> MetricsRecord {
        MetricsRecord(slide: job.name, outcome: .failed, jobID: job.storedID, node: node, attempts: job.attempts,
                      modelSHA256: job.modelSHA256, error: reason)
    }

    /// The line as written: sorted-key JSON, no newline.
    func line() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var line = encoder.container(keyedBy: Key.self)
        try line.encode(ISO8601DateFormatter().string(from: time), forKey: Key("time"))
        try line.encode(slide, forKey: Key("slide"))
        try line.encode(outcome, forKey: Key("outcome"))
        try line.encode(jobID, forKey: Key("job_id"))
        try line.encode(node, forKey: Key("node"))
        try line.encode(attempts, forKey: Key("attempts"))
        try line.encode(modelSHA256, forKey: Key("model_sha256"))  // null rather than absent: the line always says
        try line.encodeIfPresent(error, forKey: Key("error"))
        guard outcome == .done else { return }
        try line.encodeIfPresent(seconds, forKey: Key("seconds"))
        try line.encode(outputs, forKey: Key("outputs"))
        guard let result else { return }
        try line.encode(result.width, forKey: Key("width"))
        try line.encode(result.height, forKey: Key("height"))
        try line.encode(result.tilesRun, forKey: Key("tiles_run"))
        try line.encode(result.tilesSkipped, forKey: Key("tiles_skipped"))
        try line.encode(result.megapixelsPerSecond, forKey: Key("megapixels_per_second"))
        try line.encode(result.positiveFraction, forKey: Key("positive_fraction"))
        try line.encodeIfPresent(result.duplicateOf, forKey: Key("duplicate_of"))
        try line.encode(result.inputScale, forKey: Key("input_scale"))
        try line.encode(result.slideMPP, forKey: Key("slide_mpp"))
        try line.encode(result.mppSource, forKey: Key("mpp_source"))
        try line.encode(result.objects, forKey: Key("objects"))
        try line.encodeIfPresent(result.objectFilter, forKey: Key("object_filter"))
        try line.encode(result.warnings, forKey: Key("warnings"))
        try line.encode(result.precision, forKey: Key("precision"))
        try line.encode(result.cpuPath, forKey: Key("cpu_path"))
        try line.encodeIfPresent(result.nuclei, forKey: Key("summary"))
        try line.encodeIfPresent(result.stainVectors, forKey: Key("stain_vectors"))
        try line.encode(result.timings, forKey: Key("stages"))
        guard let scores = result.scores else { return }
        try line.encode(scores.accuracy, forKey: Key("accuracy"))
        try line.encode(scores.dice, forKey: Key("dice"))
        try line.encode(scores.iou, forKey: Key("iou"))
        try line.encodeIfPresent(scores.objectF1, forKey: Key("object_f1"))
        try line.encodeIfPresent(scores.aji, forKey: Key("aji"))
        try line.encodeIfPresent(scores.pq, forKey: Key("pq"))
    }
}
