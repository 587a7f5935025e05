import UNetCore

/// Everything about a model besides its weights: what it is, how to feed it, how to read its output,
/// and where it came from. Stored as JSON in the safetensors `__metadata__` under the key `unet`.
public struct ModelMetadata: Codable, Sendable, Equatable {
    public var architecture: UNetArchitecture
    public var preprocessing: Preprocessing
    /// Probability at or above which a pixel is foreground.
    public var threshold: Float
    /// Scale at which the network sees the slide (the reference project trained at about 0.38×).
    public var inputScale: Double
    /// µm per pixel of the images the model was trained on; with the slide's own MPP it sets the
    /// scale the network sees a slide at. nil: not declared.
    public var micronsPerPixel: Double?
    /// What the foreground class is (GeoJSON classification, e.g. "Nucleus"); nil: "Foreground".
    public var className: String?
    /// How the output becomes objects; nil: connected components (a binary model).
    public var objects: ObjectSeparation?
    public var provenance: Provenance

    public init(architecture: UNetArchitecture, preprocessing: Preprocessing = Preprocessing(),
                threshold: Float = 0.5, inputScale: Double = 1, micronsPerPixel: Double? = nil, className: String? = nil,
                provenance: Provenance = Provenance()) {
        self.architecture = architecture
        self.preprocessing = preprocessing
        self.threshold = threshold
        self.inputScale = inputScale
        self.micronsPerPixel = micronsPerPixel
        self.className = className
        self.provenance = provenance
    }

    /// The class name objects are labelled with.
    public var foregroundClassName: String { className ?? "Foreground" }

    enum CodingKeys: String, CodingKey {
        case architecture, preprocessing, threshold, inputScale = "input_scale", micronsPerPixel = "mpp", className = "class_name", objects, provenance
    }
}

/// Where a model came from, as far as its files say.
public struct Provenance: Codable, Sendable, Equatable {
    /// sha256 of the file this model was converted from.
    public var sourceSHA256: String?
    /// File name (not path) of that source.
    public var sourceFile: String?
    public var epoch: Int?
    /// Metrics recorded with the checkpoint (e.g. `loss`, `accuracy`, `val_dice`).
    public var metrics: [String: Double]
    /// Free text: training data, purpose, caveats ("demonstration model, not for diagnosis").
    public var note: String?

    public init(sourceSHA256: String? = nil, sourceFile: String? = nil, epoch: Int? = nil,
                metrics: [String: Double] = [:], note: String? = nil) {
        self.sourceSHA256 = sourceSHA256
        self.sourceFile = sourceFile
        self.epoch = epoch
        self.metrics = metrics
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case sourceSHA256 = "source_sha256", sourceFile = "source_file", epoch, metrics, note
    }
}

extension ModelMetadata {
    /// Rejects settings no network could use (wrong channel counts, thresholds outside [0, 1], ...).
    public func validate() throws(CheckpointProblem) {
        let channels = architecture.inputChannels
        for (name, values) in [("mean", preprocessing.mean), ("std", preprocessing.std)] {
            if let values, values.count != channels {
                throw CheckpointProblem("preprocessing \(name) has \(values.count) values but the network has \(channels) input channels")
            }
        }
        if let std = preprocessing.std, std.contains(where: { !($0 > 0) }) {
            throw CheckpointProblem("preprocessing std must be positive")
        }
        guard threshold >= 0 && threshold <= 1 else { throw CheckpointProblem("threshold \(threshold) is outside [0, 1]") }
        guard inputScale > 0 && inputScale <= 4 else { throw CheckpointProblem("input scale \(inputScale) is outside (0, 4]") }
        if let micronsPerPixel, !(micronsPerPixel > 0 && micronsPerPixel.isFinite) {
            throw CheckpointProblem("mpp \(micronsPerPixel) must be a positive number of µm per pixel")
        }
        if let className, className.isEmpty || className.count > 200 { throw CheckpointProblem("class name must have 1 to 200 characters") }
        if case .distanceMap = objects, architecture.classes != 1 {
            throw CheckpointProblem("a distance-map model has one output class, this one has \(architecture.classes)")
        }
        guard preprocessing.scale > 0 && preprocessing.scale.isFinite else { throw CheckpointProblem("preprocessing scale must be positive") }
    }
}
