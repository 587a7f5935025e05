import UNetEngine

/// The model `unet segment` uses: the one named on the command line, or else the embedded default.
enum DefaultModel {
    static func load(explicitPath: String?) throws -> ModelFile {
        if let explicitPath { return try ModelFile.load(path: explicitPath) }
        throw CheckpointProblem("no --model given, and this build has no embedded default model yet; pass --model PATH (.pth or .safetensors)")
    }
}
