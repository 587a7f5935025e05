import ArgumentParser
import DefaultModel
import Foundation
import Segmentation
import Training
import UNetCore
import UNetEngine

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model on labelled images: pixel accuracy, Dice and IoU (per-image means and pooled); object F1, AJI and PQ with instance labels.",
        discussion: """
            --report DIR writes eval.csv (one row per image), eval.svg and eval.png (per-image Dice as sorted bars, \
            the pooled Dice and the all-background baseline as lines) and worst-K-NAME.png overlays of the five \
            lowest-Dice images (yellow: true positive, red: false positive, blue: missed).
            """)

    @Option(help: "Model file; default: the embedded default model.") var model: String?
    @Option(help: "Dataset directory (BreCaHAD layout, images/ + masks/ with NAME.png or NAME_inst.png, or NAME.png beside NAME_inst.png).") var data: String
    @Flag(help: "Split a binary model's touching objects at the saddles of their distance transform (instance models split their own).")
    var splitTouching = false
    @Option(help: "Score only the images that `unet train --val-fraction F --seed S` held out for validation (give F here and --seed).")
    var heldOut: Double?
    @Option(help: "The training run's --seed, with --held-out.") var seed: UInt64 = 0
    @Option(help: "Radius within which a predicted centroid matches a truth point (NAME.points.csv): µm when the image declares its scale, else pixels.")
    var matchRadius = 3.0
    @Option(help: "Override how objects are separated: components, distance-transform or distance-map, optionally with :DYNAMIC (default: the model's).")
    var objects: String?
    @Option(help: "Foreground threshold (default: the model's).") var threshold: Float?
    @Option(help: "BreCaHAD classes drawn as foreground, comma-separated.") var truthClasses = "tumor"
    @Option(help: "Radius of BreCaHAD points in pixels.") var truthRadius = 20
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Arithmetic: fp32, bf16, or auto (bf16 where the CPU has native bf16 dot products).") var precision: Precision = .fp32
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Also write eval.csv, eval.svg, eval.png and overlays of the worst five images into this directory.") var report: String?

    /// The separation scored: `--objects`, else the model's, else components (or `--split-touching`).
    func separation(model: ModelMetadata) throws -> ObjectSeparation {
        guard let objects else { return model.objects ?? (splitTouching ? .splitTouching : .components) }
        guard let separation = ObjectSeparation(parsing: objects) else {
            throw ValidationError("--objects must be components, distance-transform[:DYNAMIC] or distance-map[:DYNAMIC], not '\(objects)'")
        }
        return separation
    }

    func run() throws {
        try reportingErrors {
            let file = try DefaultModel.load(explicitPath: model)
            let dataset = try LabelledDataset.load(directory: data, truth: GroundTruthOptions(
                classes: truthClasses.split(separator: ",").map(String.init), radius: truthRadius))
            let images = heldOut.map { dataset.split(validationFraction: $0, seed: seed).validation } ?? dataset.images
            let scores = EvaluationReport.evaluate(network: try file.network(precision: precision), preprocessing: file.metadata.preprocessing,
                                                   threshold: threshold ?? file.metadata.threshold, images: images, threads: threads,
                                                   separation: try separation(model: file.metadata), matchRadiusMicrons: matchRadius,
                                                   keepingWorst: report == nil ? 0 : 5)
            if let report {
                let title = "unet eval: \(data), model \(file.sha256.prefix(12)) (width \(file.metadata.architecture.width)), \(scores.images.count) images"
                try scores.writeReport(to: report, title: title)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(scores), as: UTF8.self))
                return
            }
            for score in scores.detections {
                let d = score.detection
                print(String(format: "%-24@ points %d, objects %d, matched %d within %.1f px: detection F1 %.4f  precision %.4f  recall %.4f",
                             score.name, d.truthPoints, d.predictedPoints, d.matched, score.radiusPixels, d.f1, d.precision, d.recall))
            }
            if let pooled = scores.pooledDetection {
                print(String(format: "pooled detection:  F1 %.4f  precision %.4f  recall %.4f (%d points, %d objects, %d matched)",
                             pooled.f1, pooled.precision, pooled.recall, pooled.truthPoints, pooled.predictedPoints, pooled.matched))
                guard !scores.images.isEmpty else { return }
            }
            for image in scores.images {
                var line = String(format: "%-24@ accuracy %.4f  Dice %.4f  IoU %.4f", image.name, image.accuracy, image.dice, image.iou)
                if let objects = image.objects {
                    line += String(format: "  objects %d/%d  F1 %.4f  AJI %.4f  PQ %.4f", objects.predictedObjects, objects.truthObjects,
                                   objects.f1, objects.aggregatedJaccard, objects.panopticQuality)
                }
                print(line)
            }
            print(String(format: "mean of %d images: accuracy %.4f  Dice %.4f  IoU %.4f", scores.images.count,
                         scores.meanAccuracy, scores.meanDice, scores.meanIoU))
            print(String(format: "pooled pixels:     accuracy %.4f  Dice %.4f  IoU %.4f", scores.pooledAccuracy, scores.pooledDice, scores.pooledIoU))
            print(String(format: "all-background baseline accuracy %.4f", scores.backgroundBaselineAccuracy))
            if let objects = scores.objects, let f1 = scores.meanObjectF1, let aji = scores.meanAJI, let pq = scores.meanPQ {
                print("objects (\(scores.separation.method), matched at IoU > 0.5):")
                print(String(format: "mean of %d images: F1 %.4f  AJI %.4f  PQ %.4f", scores.images.filter { $0.objects != nil }.count, f1, aji, pq))
                print(String(format: "pooled objects:    F1 %.4f  precision %.4f  recall %.4f  AJI %.4f  PQ %.4f (DQ %.4f × SQ %.4f); %d predicted, %d true, %d matched",
                             objects.f1, objects.precision, objects.recall, objects.aggregatedJaccard, objects.panopticQuality,
                             objects.f1, objects.segmentationQuality, objects.predictedObjects, objects.truthObjects, objects.matched))
            }
            if let report { print("report: \(report)/eval.csv, eval.svg, eval.png, \(scores.worst.count) overlays of the worst images") }
        }
    }
}
