import Foundation
import UNetEngine

/// The model `unet segment`, `unet eval` and `unetd` use when none is named: a demonstration U-Net
/// shipped with the binaries (see its provenance note; not for diagnosis).
///
/// Looked up, in order: `$UNETD_DEFAULT_MODEL`; the installed copy
/// `<prefix>/share/unetd/default-model.safetensors` beside `<prefix>/bin`; the build's resource
/// bundle next to the executable.
public enum DefaultModel {
    public static let fileName = "default-model.safetensors"

    public static var path: String? {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["UNETD_DEFAULT_MODEL"] { candidates.append(override) }
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("share/unetd/\(fileName)").path)
        candidates.append(executable.appendingPathComponent("unetd_DefaultModel.resources/\(fileName)").path)
        candidates.append(executable.appendingPathComponent("unetd_DefaultModel.resources/Resources/\(fileName)").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The explicit model when given, else the default one.
    public static func load(explicitPath: String?) throws -> ModelFile {
        if let explicitPath { return try ModelFile.load(path: explicitPath) }
        guard let path else {
            throw CheckpointProblem("no --model given and the default model (\(fileName)) is not installed; pass --model PATH or run make install")
        }
        return try ModelFile.load(path: path)
    }
}
