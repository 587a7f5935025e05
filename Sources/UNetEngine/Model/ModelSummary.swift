import UNetCore

/// What `unet inspect` reports about a model, as text or JSON.
public struct ModelSummary: Codable, Sendable {
    public var path: String
    public var format: String
    public var sha256: String
    public var parameterCount: Int
    public var metadata: ModelMetadata
    /// The instruction-set path this machine would run the model on.
    public var cpuPath: CPUPath

    public init(_ file: ModelFile, cpuPath: CPUPath = .selected) {
        path = file.path
        format = file.format.rawValue
        sha256 = file.sha256
        parameterCount = file.metadata.architecture.parameterCount
        metadata = file.metadata
        self.cpuPath = cpuPath
    }

    enum CodingKeys: String, CodingKey {
        case path, format, sha256, parameterCount = "parameter_count", metadata, cpuPath = "cpu_path"
    }

    public var text: String {
        let p = metadata.preprocessing
        var lines = [
            "model:          \(path) (\(format))",
            "sha256:         \(sha256)",
            "architecture:   \(metadata.architecture)",
            "parameters:     \(parameterCount)",
            "preprocessing:  \(p.channelOrder.rawValue), scale \(p.scale)"
                + (p.mean.map { ", mean \($0)" } ?? "") + (p.std.map { ", std \($0)" } ?? ""),
            "threshold:      \(metadata.threshold)",
            "input scale:    \(metadata.inputScale)",
            "mpp:            " + (metadata.micronsPerPixel.map { "\($0) µm/px" } ?? "not declared"),
            "class:          \(metadata.foregroundClassName)",
            "objects:        " + Self.describe(metadata.objects),
            "cpu path:       \(cpuPath.rawValue) (this machine)",
        ]
        let source = metadata.provenance
        if let file = source.sourceFile { lines.append("source:         \(file) (sha256 \(source.sourceSHA256 ?? "?"))") }
        if let epoch = source.epoch { lines.append("epoch:          \(epoch)") }
        for (name, value) in source.metrics.sorted(by: { $0.key < $1.key }) {
            lines.append("\((name + ":").padding(toLength: 16, withPad: " ", startingAt: 0))\(value)")
        }
        if let note = source.note { lines.append("note:           \(note)") }
        return lines.joined(separator: "\n")
    }

    /// How the model's output becomes objects, in words.
    static func describe(_ objects: ObjectSeparation?) -> String {
        switch objects ?? .components {
        case .components: "components (one per connected region; --split-touching splits them)"
        case .distanceTransform(let dynamic): "distance-transform (regions split at distance-transform saddles, dynamic \(dynamic) px)"
        case .distanceMap(let dynamic): "distance-map (an instance model: split at the saddles of its output, dynamic \(dynamic))"
        }
    }
}
