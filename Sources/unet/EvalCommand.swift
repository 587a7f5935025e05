import ArgumentParser
import DefaultModel
import Foundation
import Segmentation
import Training
import UNetEngine

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model on labelled images: pixel accuracy, Dice and IoU (per-image means and pooled).",
        discussion: """
            --report DIR writes eval.csv (one row per image), eval.svg and eval.png (per-image Dice as sorted bars, \
            the pooled Dice and the all-background baseline as lines) and worst-K-NAME.png overlays of the five \
            lowest-Dice images (yellow: true positive, red: false positive, blue: missed).
            """)

    @Option(help: "Model file; default: the embedded default model.") var model: String?
    @Option(help: "Dataset directory (BreCaHAD layout or images/ + masks/).") var data: String
    @Option(help: "Foreground threshold (default: the model's).") var threshold: Float?
    @Option(help: "BreCaHAD classes drawn as foreground, comma-separated.") var truthClasses = "tumor"
    @Option(help: "Radius of BreCaHAD points in pixels.") var truthRadius = 20
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Arithmetic: fp32, bf16, or auto (bf16 where the CPU has native bf16 dot products).") var precision: Precision = .fp32
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Also write eval.csv, eval.svg, eval.png and overlays of the worst five images into this directory.") var report: String?

    func run() throws {
        try reportingErrors {
            let file = try DefaultModel.load(explicitPath: model)
            let dataset = try LabelledDataset.load(directory: data, truth: GroundTruthOptions(
                classes: truthClasses.split(separator: ",").map(String.init), radius: truthRadius))
            let scores = EvaluationReport.evaluate(network: try file.network(precision: precision), preprocessing: file.metadata.preprocessing,
                                                   threshold: threshold ?? file.metadata.threshold, images: dataset.images, threads: threads,
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
            for image in scores.images {
                print(String(format: "%-24@ accuracy %.4f  Dice %.4f  IoU %.4f", image.name, image.accuracy, image.dice, image.iou))
            }
            print(String(format: "mean of %d images: accuracy %.4f  Dice %.4f  IoU %.4f", scores.images.count,
                         scores.meanAccuracy, scores.meanDice, scores.meanIoU))
            print(String(format: "pooled pixels:     accuracy %.4f  Dice %.4f  IoU %.4f", scores.pooledAccuracy, scores.pooledDice, scores.pooledIoU))
            print(String(format: "all-background baseline accuracy %.4f", scores.backgroundBaselineAccuracy))
            if let report { print("report: \(report)/eval.csv, eval.svg, eval.png, \(scores.worst.count) overlays of the worst images") }
        }
    }
}
