import Segmentation
import UNetCore
import UNetEngine

/// Everything `unet train` takes; defaults follow the reference project where sensible
/// (BCEWithLogitsLoss, Adam lr 1e-3, batch 8).
public struct TrainingOptions: Sendable, Codable {
    public var data: String
    public var output: String
    public var width: Int = 16
    public var upsampling: UNetArchitecture.Upsampling = .bilinear
    public var epochs: Int = 20
    public var batch: Int = 8
    public var learningRate: Float = 1e-3
    public var tile: Int = 256
    public var validationFraction: Double = 0.2
    public var seed: UInt64 = 0
    public var threads: Int = 2
    public var loss: TrainingLoss = .bce
    /// Fresh augmented tiles drawn from each training image per epoch.
    public var samplesPerImage: Int = 16
    public var channelOrder: ChannelOrder = .rgb
    public var truthClasses: [String] = ["tumor"]
    public var truthRadius: Int = 20
    /// Written into the model's provenance (what it was trained on, caveats).
    public var note: String?
    /// µm per pixel the model is trained at (stored in its metadata); nil: the images' common MPP, if any.
    public var micronsPerPixel: Double?
    /// The foreground class's name (GeoJSON classification).
    public var className: String?
    /// Train a binary model even from instance labels (their union), scored with `--split-touching`'s
    /// separation: the baseline an instance model is measured against.
    public var binary = false

    public init(data: String, output: String) {
        self.data = data
        self.output = output
    }

    enum CodingKeys: String, CodingKey {
        case data, output, width, upsampling, epochs, batch, learningRate = "lr", tile
        case validationFraction = "val_fraction", seed, threads, loss, samplesPerImage = "samples_per_image"
        case channelOrder = "channel_order", truthClasses = "truth_classes", truthRadius = "truth_radius", note
    }
}

/// One line of `history.jsonl`.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationDice: Double?
    public var validationAccuracy: Double?
    /// Mean per-image object F1 (IoU > 0.5), AJI and PQ on validation, when the labels are instances.
    public var validationObjectF1: Double? = nil
    public var validationAJI: Double? = nil
    public var validationPQ: Double? = nil
    public var seconds: Double
    public var imagesPerSecond: Double

    /// What `best.safetensors` is chosen by: object F1 when validation has instance labels, else Dice.
    public var validationScore: Double? { validationObjectF1 ?? validationDice }

    enum CodingKeys: String, CodingKey {
        case epoch, trainLoss = "train_loss", validationDice = "val_dice", validationAccuracy = "val_accuracy"
        case validationObjectF1 = "val_object_f1", validationAJI = "val_aji", validationPQ = "val_pq"
        case seconds, imagesPerSecond = "images_per_second"
    }
}
