import Foundation
import Segmentation
import SlideIO
import UNetCore
import UNetEngine

/// `unet train`: on-the-fly augmented tiles from a case-split dataset, Adam, validation Dice (and,
/// with instance labels, object F1, AJI and PQ) each epoch, `checkpoint.safetensors` every epoch (weights, optimizer state, epoch, loss, metrics),
/// `best.safetensors` by validation object F1 (instance labels) or Dice, `history.jsonl`, `curves.svg` and `curves.png`. `--resume` continues
/// exactly: every epoch's randomness derives from (seed, epoch), not from what ran before.
public final class Trainer {
    public let options: TrainingOptions
    public private(set) var history: [EpochRecord] = []

    public struct Progress: Sendable {
        public var epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, seconds: Double
    }

    public init(options: TrainingOptions) { self.options = options }

    var checkpointPath: String { options.output + "/checkpoint.safetensors" }
    var bestPath: String { options.output + "/best.safetensors" }
    var historyPath: String { options.output + "/history.jsonl" }

    /// Trains to `options.epochs`; `resume` picks up `checkpoint.safetensors` in the output directory.
    public func run(resume: Bool, progress: ((Progress) -> Void)? = nil) throws {
        try FileManager.default.createDirectory(atPath: options.output, withIntermediateDirectories: true)
        let dataset = try LabelledDataset.load(directory: options.data,
                                               truth: GroundTruthOptions(classes: options.truthClasses, radius: options.truthRadius))
        let split = dataset.split(validationFraction: options.validationFraction, seed: options.seed)
        var training = split.training
        let validation = split.validation
        guard !training.isEmpty else { throw SlideError(path: options.data, reason: "no training images left after the validation split") }
        // Instance labels make an instance model: it learns a distance map, split into nuclei at its saddles.
        let instanceModel = dataset.hasInstances && !options.binary
        if options.binary { training = training.map { var image = $0; image.target = nil; return image } }
        if instanceModel, let binary = dataset.images.first(where: { $0.instances == nil }) {
            throw SlideError(path: options.data, reason: "\(binary.name) has a binary mask among instance-labelled images; give every image an instance map (NAME_inst.png)")
        }

        let architecture = UNetArchitecture(width: options.width, upsampling: options.upsampling, classes: 1, convolutionBias: false)
        var metadata = ModelMetadata(architecture: architecture, preprocessing: Preprocessing(channelOrder: options.channelOrder))
        metadata.provenance.note = options.note
        metadata.micronsPerPixel = options.micronsPerPixel ?? dataset.commonMicronsPerPixel
        metadata.className = options.className
        metadata.objects = instanceModel ? .trainedDistanceMap : nil
        // The distance map is 0 off nuclei and at least 0.6 on them; 0.4 scored best of 0.3, 0.4 and 0.5 on
        // held-out BBBC038 tiles (BENCHMARKS.md, session 26).
        if instanceModel { metadata.threshold = DistanceMapTarget.threshold }
        var state = TrainingState(epoch: 0, bestDice: -1, bestEpoch: 0, batchesTracked: 0)
        var stateDict: [String: Tensor]
        var optimizer: AdamOptimizer?
        if resume, FileManager.default.fileExists(atPath: checkpointPath) {
            let checkpoint = try TrainingCheckpoint.read(checkpointPath, learningRate: options.learningRate)
            guard checkpoint.architecture == architecture else {
                throw SlideError(path: checkpointPath, reason: "checkpoint is a \(checkpoint.architecture), options ask for a \(architecture)")
            }
            (stateDict, optimizer, state) = (checkpoint.stateDict, checkpoint.optimizer, checkpoint.state)
            history = readHistory().filter { $0.epoch <= state.epoch }
        } else {
            var generator = SeededGenerator(seed: options.seed, stream: 0)
            stateDict = architecture.initialStateDict(using: &generator)
            history = []
        }
        let trainer = try UNetTrainer(architecture: architecture, stateDict: stateDict, optimizer: optimizer,
                                      learningRate: options.learningRate, batch: options.batch, tile: options.tile, threads: options.threads)
        trainer.parameters.batchesTracked = state.batchesTracked
        let augmenter = Augmenter(tile: options.tile, preprocessing: metadata.preprocessing)
        let pixels = options.tile * options.tile
        var images = [Float](repeating: 0, count: options.batch * 3 * pixels)
        var targets = [Float](repeating: 0, count: options.batch * pixels)

        for epoch in (state.epoch + 1)...max(options.epochs, state.epoch + 1) where epoch <= options.epochs {
            let started = ContinuousClock.now
            var order = Array(0..<(training.count * options.samplesPerImage))
            var shuffler = SeededGenerator(seed: options.seed, stream: 2, index: UInt64(epoch))
            order.shuffle(using: &shuffler)
            let steps = order.count / options.batch
            var lossSum = 0.0
            for step in 0..<steps {
                for slot in 0..<options.batch {
                    let sample = order[step * options.batch + slot]
                    var generator = SeededGenerator(seed: options.seed, stream: 3 + UInt64(epoch), index: UInt64(sample))
                    images.withUnsafeMutableBufferPointer { input in
                        targets.withUnsafeMutableBufferPointer { target in
                            augmenter.sample(training[sample % training.count], generator: &generator,
                                             input: input.baseAddress! + slot * 3 * pixels, target: target.baseAddress! + slot * pixels)
                        }
                    }
                }
                let loss = images.withUnsafeBufferPointer { x in
                    targets.withUnsafeBufferPointer { t in trainer.step(images: x.baseAddress!, targets: t.baseAddress!, loss: options.loss) }
                }
                lossSum += Double(loss)
                progress?(Progress(epoch: epoch, epochs: options.epochs, step: step + 1, steps: steps, loss: lossSum / Double(step + 1),
                                   seconds: (ContinuousClock.now - started).seconds))
            }
            let trainingSeconds = (ContinuousClock.now - started).seconds
            let network = try trainer.network()
            let report = validation.isEmpty ? nil : EvaluationReport.evaluate(network: network, preprocessing: metadata.preprocessing,
                                                                              threshold: metadata.threshold, images: validation, threads: options.threads,
                                                                              separation: metadata.objects ?? (options.binary ? .splitTouching : .components))
            var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(steps, 1)), validationDice: report?.meanDice,
                                     validationAccuracy: report?.meanAccuracy, seconds: (ContinuousClock.now - started).seconds,
                                     imagesPerSecond: Double(steps * options.batch) / max(trainingSeconds, 1e-9))
            (record.validationObjectF1, record.validationAJI, record.validationPQ) = (report?.meanObjectF1, report?.meanAJI, report?.meanPQ)
            state.epoch = epoch
            state.batchesTracked = trainer.parameters.batchesTracked
            metadata.provenance.epoch = epoch
            metadata.provenance.metrics = ["train_loss": record.trainLoss]
            if let report {
                metadata.provenance.metrics["val_dice"] = report.meanDice
                metadata.provenance.metrics["val_accuracy"] = report.meanAccuracy
                if let f1 = report.meanObjectF1, let aji = report.meanAJI, let pq = report.meanPQ {
                    metadata.provenance.metrics["val_object_f1"] = f1
                    metadata.provenance.metrics["val_aji"] = aji
                    metadata.provenance.metrics["val_pq"] = pq
                }
            }
            // `bestDice` holds the score best is chosen by: object F1 with instance labels, else Dice.
            let improved = (record.validationScore ?? -record.trainLoss) > state.bestDice
            if improved {
                state.bestDice = record.validationScore ?? -record.trainLoss
                state.bestEpoch = epoch
                try AtomicFile.write(ModelFile.safetensorsImage(tensors: trainer.parameters.stateDict, metadata: metadata), to: bestPath)
            }
            try TrainingCheckpoint.write(checkpointPath, parameters: trainer.parameters, optimizer: trainer.optimizer,
                                         metadata: metadata, state: state, options: options)
            history.append(record)
            try writeHistory()
            try TrainingCurves(history: history, bestEpoch: state.bestEpoch, dataDirectory: options.data, modelWidth: options.width)
                .write(to: options.output)
        }
    }

    private func readHistory() -> [EpochRecord] {
        guard let text = try? String(contentsOfFile: historyPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(EpochRecord.self, from: Data($0.utf8)) }
    }

    /// Rewrites history.jsonl as the records so far (a resumed run drops epochs the checkpoint lacks).
    private func writeHistory() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = try history.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        try AtomicFile.write(Array(lines.utf8), to: historyPath)
    }
}
