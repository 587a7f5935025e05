import ArgumentParser
import Foundation
import Training
import UNetCore
import UNetEngine

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a U-Net on a BreCaHAD-layout or images/masks directory.",
        discussion: "Writes checkpoint.safetensors every epoch, best.safetensors by validation Dice, history.jsonl and curves.png (red: loss/max loss, blue: validation Dice).")

    @Option(help: "Dataset directory: images/ with groundTruth/ (BreCaHAD JSON) or masks/ (PNG).") var data: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Base width w (encoder widths w, 2w, 4w, 8w).") var width = 16
    @Flag(help: "Bilinear ups (default) or transposed-conv ups.") var upsampling: UpsamplingFlag = .bilinear
    @Option(help: "Epochs.") var epochs = 20
    @Option(help: "Batch size.") var batch = 8
    @Option(help: "Adam learning rate.") var lr: Float = 1e-3
    @Option(help: "Training tile side (multiple of 16).") var tile = 256
    @Option(help: "Fraction of cases held out for validation.") var valFraction = 0.2
    @Option(help: "Seed for initialisation, split and augmentation.") var seed: UInt64 = 0
    @Option(help: "Loss: bce or bce+dice.") var loss: TrainingLoss = .bce
    @Option(help: "Augmented tiles per training image per epoch.") var samplesPerImage = 16
    @Option(help: "Channel order to train on (rgb|bgr).") var channelOrder: ChannelOrder = .rgb
    @Option(help: "BreCaHAD classes drawn as foreground, comma-separated.") var truthClasses = "tumor"
    @Option(help: "Radius of BreCaHAD points in pixels.") var truthRadius = 20
    @Option(help: "Note stored in the model's provenance.") var note: String?
    @Option(help: "µm per pixel the model is trained at (default: the images' own, when they all declare one).") var mpp: Double?
    @Option(help: "Name of the foreground class, e.g. Nucleus (GeoJSON classification).") var className: String?
    @Flag(help: "Continue from OUT/checkpoint.safetensors.") var resume = false
    @Flag(help: "Train a binary model even from instance labels (for comparison with the instance model they make by default).")
    var binary = false
    @Option(help: "Threads.") var threads = 2

    enum UpsamplingFlag: String, EnumerableFlag { case bilinear, transposed }

    func validate() throws {
        guard tile >= 16, tile % 16 == 0 else { throw ValidationError("--tile must be a multiple of 16") }
        guard batch >= 1, epochs >= 1, width >= 1, samplesPerImage >= 1 else { throw ValidationError("--batch, --epochs, --width and --samples-per-image must be positive") }
        guard mpp.map({ $0 > 0 && $0.isFinite }) ?? true else { throw ValidationError("--mpp must be a positive number of µm per pixel") }
    }

    func run() throws {
        try reportingErrors {
            var options = TrainingOptions(data: data, output: out)
            options.width = width
            options.upsampling = upsampling == .bilinear ? .bilinear : .transposed
            options.epochs = epochs
            options.batch = batch
            options.learningRate = lr
            options.tile = tile
            options.validationFraction = valFraction
            options.seed = seed
            options.loss = loss
            options.samplesPerImage = samplesPerImage
            options.channelOrder = channelOrder
            options.truthClasses = truthClasses.split(separator: ",").map(String.init)
            options.truthRadius = truthRadius
            options.note = note
            options.micronsPerPixel = mpp
            options.className = className
            options.binary = binary
            options.threads = threads
            let trainer = Trainer(options: options)
            let terminal = isatty(STDERR_FILENO) == 1
            try trainer.run(resume: resume) { progress in
                guard terminal else { return }
                var stderr = StandardError()
                let filled = progress.step * 30 / max(progress.steps, 1)
                print(String(format: "\repoch %d/%d [%@%@] %d/%d  loss %.4f  %.1fs ", progress.epoch, progress.epochs,
                             String(repeating: "#", count: filled), String(repeating: ".", count: 30 - filled),
                             progress.step, progress.steps, progress.loss, progress.seconds), terminator: "", to: &stderr)
            }
            if terminal { var stderr = StandardError(); print("\r\u{1B}[K", terminator: "", to: &stderr) }
            for record in trainer.history {
                print(String(format: "epoch %3d  loss %.4f  val Dice %@  %.2f images/s", record.epoch, record.trainLoss,
                             record.validationDice.map { String(format: "%.4f", $0) } ?? "-", record.imagesPerSecond))
            }
        }
    }
}

extension TrainingLoss: ExpressibleByArgument {}
