import ArgumentParser
import Foundation
import UNetCore
import UNetEngine

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch checkpoint (.pth) to the native .safetensors with metadata.",
        discussion: "Checkpoints of the reference BreCaHAD project were trained on BGR input: convert them with --channel-order bgr.")

    @Argument(help: "PyTorch checkpoint or safetensors model to read.") var input: String
    @Argument(help: "safetensors file to write.") var output: String
    @Option(help: "Channel order the network was trained on (rgb|bgr).") var channelOrder: ChannelOrder?
    @Option(help: "Per-channel mean after scaling, network order, e.g. 0.485,0.456,0.406.") var mean: FloatList?
    @Option(help: "Per-channel standard deviation, network order.") var std: FloatList?
    @Option(help: "Foreground probability threshold.") var threshold: Float?
    @Option(help: "Scale at which the network sees slides (e.g. 0.38 for 1360-pixel fields squashed to 512).") var inputScale: Double?
    @Option(help: "µm per pixel of the images the model was trained on (sets the scale slides are resampled to).") var mpp: Double?
    @Option(help: "Name of the foreground class (GeoJSON classification), e.g. Nucleus.") var className: String?
    @Option(help: "Free-text note stored in the provenance (training data, caveats).") var note: String?
    @Option(help: "How the output becomes objects: components, distance-transform[:DYNAMIC] (split touching regions) or distance-map[:DYNAMIC] (an instance model's distance map).")
    var objects: String?

    func run() throws {
        try reportingErrors {
            let model = try ModelFile.load(path: input)
            var metadata = model.metadata
            if let channelOrder { metadata.preprocessing.channelOrder = channelOrder }
            if let mean { metadata.preprocessing.mean = mean.values }
            if let std { metadata.preprocessing.std = std.values }
            if let threshold { metadata.threshold = threshold }
            if let inputScale { metadata.inputScale = inputScale }
            if let mpp { metadata.micronsPerPixel = mpp }
            if let className { metadata.className = className }
            if let note { metadata.provenance.note = note }
            if let objects {
                guard let separation = ObjectSeparation(parsing: objects) else {
                    throw ValidationError("--objects must be components, distance-transform[:DYNAMIC] or distance-map[:DYNAMIC], not '\(objects)'")
                }
                metadata.objects = separation == .components ? nil : separation
            }
            try metadata.validate()
            guard URL(fileURLWithPath: input).standardized != URL(fileURLWithPath: output).standardized else {
                throw ValidationError("output would overwrite the input \(input)")
            }
            try AtomicFile.write(model.safetensorsImage(metadata: metadata), to: output)
            print("wrote \(output): \(metadata.architecture), \(metadata.preprocessing.channelOrder.rawValue) input")
        }
    }
}

extension ChannelOrder: ExpressibleByArgument {}

/// A comma-separated list of numbers on the command line.
struct FloatList: ExpressibleByArgument {
    let values: [Float]
    init?(argument: String) {
        let parsed = argument.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else { return nil }
        values = parsed.map { $0! }
    }
}
