import Foundation
import SlideIO
import UNetCore
import UNetEngine

/// Progress through training that a resumed run needs besides weights and optimizer moments.
struct TrainingState: Codable, Sendable {
    var epoch: Int
    var bestDice: Double
    var bestEpoch: Int
    var batchesTracked: Int
    var adamStep: Int = 0

    enum CodingKeys: String, CodingKey {
        case epoch, bestDice = "best_dice", bestEpoch = "best_epoch", batchesTracked = "num_batches_tracked", adamStep = "adam_step"
    }
}

/// `checkpoint.safetensors`: the state dict, Adam's moments under `optimizer.exp_avg.KEY` and
/// `optimizer.exp_avg_sq.KEY`, the model metadata, and the training state and options as JSON.
/// It loads as a model too (ModelFile ignores the optimizer tensors).
enum TrainingCheckpoint {
    struct Contents {
        var architecture: UNetArchitecture
        var stateDict: [String: Tensor]
        var optimizer: AdamOptimizer
        var state: TrainingState
    }

    static func write(_ path: String, parameters: ParameterSet, optimizer: AdamOptimizer, metadata: ModelMetadata,
                      state: TrainingState, options: TrainingOptions) throws {
        var tensors = parameters.stateDict
        for (i, key) in parameters.keys.enumerated() {
            tensors["\(ModelFile.optimizerPrefix)exp_avg.\(key)"] = Tensor(shape: parameters.shapes[i], scalars: optimizer.firstMoments[i])
            tensors["\(ModelFile.optimizerPrefix)exp_avg_sq.\(key)"] = Tensor(shape: parameters.shapes[i], scalars: optimizer.secondMoments[i])
        }
        var state = state
        state.adamStep = optimizer.step
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let extra = ["training": String(decoding: try encoder.encode(state), as: UTF8.self),
                     "options": String(decoding: try encoder.encode(options), as: UTF8.self)]
        try AtomicFile.write(ModelFile.safetensorsImage(tensors: tensors, metadata: metadata, extra: extra), to: path)
    }

    static func read(_ path: String, learningRate: Float) throws -> Contents {
        let model = try ModelFile.load(path: path)
        let raw = try SafeTensors.read(url: URL(fileURLWithPath: path))
        guard let json = raw.metadata["training"],
              let state = try? JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)) else {
            throw SlideError(path: path, reason: "not a training checkpoint (no training state); start without --resume")
        }
        let parameters = ParameterSet(architecture: model.metadata.architecture, stateDict: model.tensors)
        var first: [[Float]] = [], second: [[Float]] = []
        for key in parameters.keys {
            guard let m = raw.tensors["\(ModelFile.optimizerPrefix)exp_avg.\(key)"], let v = raw.tensors["\(ModelFile.optimizerPrefix)exp_avg_sq.\(key)"] else {
                throw SlideError(path: path, reason: "checkpoint lacks optimizer state for \(key)")
            }
            first.append(m.scalars)
            second.append(v.scalars)
        }
        return Contents(architecture: model.metadata.architecture, stateDict: model.tensors,
                        optimizer: AdamOptimizer(learningRate: learningRate, step: state.adamStep, firstMoments: first, secondMoments: second),
                        state: state)
    }
}
