import ArgumentParser
import DefaultModel
import Foundation
import Segmentation
import Training
import UNetEngine

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model on labelled images: pixel accuracy, Dice and IoU (per-image means and pooled).")

    @Option(help: "Model file; default: the embedded default model.") var model: String?
    @Option(help: "Dataset directory (BreCaHAD layout or images/ + masks/).") var data: String
    @Option(help: "Foreground threshold (default: the model's).") var threshold: Float?
    @Option(help: "BreCaHAD classes drawn as foreground, comma-separated.") var truthClasses = "tumor"
    @Option(help: "Radius of BreCaHAD points in pixels.") var truthRadius = 20
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Arithmetic: fp32, bf16, or auto (bf16 where the CPU has native bf16 dot products).") var precision: Precision = .fp32
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingErrors {
            let file = try DefaultModel.load(explicitPath: model)
            let dataset = try LabelledDataset.load(directory: data, truth: GroundTruthOptions(
                classes: truthClasses.split(separator: ",").map(String.init), radius: truthRadius))
            let report = EvaluationReport.evaluate(network: try file.network(precision: precision), preprocessing: file.metadata.preprocessing,
                                                   threshold: threshold ?? file.metadata.threshold, images: dataset.images, threads: threads)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            for image in report.images {
                print(String(format: "%-24@ accuracy %.4f  Dice %.4f  IoU %.4f", image.name, image.accuracy, image.dice, image.iou))
            }
            print(String(format: "mean of %d images: accuracy %.4f  Dice %.4f  IoU %.4f", report.images.count,
                         report.meanAccuracy, report.meanDice, report.meanIoU))
            print(String(format: "pooled pixels:     accuracy %.4f  Dice %.4f  IoU %.4f", report.pooledAccuracy, report.pooledDice, report.pooledIoU))
            print(String(format: "all-background baseline accuracy %.4f", report.backgroundBaselineAccuracy))
        }
    }
}
