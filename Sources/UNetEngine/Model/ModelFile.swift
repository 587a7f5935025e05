import Crypto
import Foundation
import UNetCore

/// A model on disk, loaded and checked: PyTorch `.pth` (as `torch.save` writes it) or our native
/// `.safetensors` with metadata. The format is told by content, not by extension.
public struct ModelFile: Sendable {
    public enum Format: String, Sendable { case pytorch, safetensors }

    public let path: String
    public let format: Format
    /// sha256 of the file's bytes, lowercase hex: the model's identity in every result and log line.
    public let sha256: String
    /// State dict tensors under PyTorch's key names (no `module.` prefix), float32, unfolded.
    public let tensors: [String: Tensor]
    public let metadata: ModelMetadata

    /// The metadata key in a safetensors header that holds `ModelMetadata` as JSON.
    public static let metadataKey = "unet"
    /// Tensors under this prefix in a training checkpoint hold Adam's moments, not model weights.
    public static let optimizerPrefix = "optimizer."

    /// Loads and validates a model file; every failure names the file and the problem.
    public static func load(path: String) throws(ModelFileError) -> ModelFile {
        do {
            return try load(bytes: try readBytes(path), path: path)
        } catch {
            throw ModelFileError(path: path, problem: error.message)
        }
    }

    private static func load(bytes: Data, path: String) throws(CheckpointProblem) -> ModelFile {
        let sha256 = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        switch try detectFormat(bytes) {
        case .pytorch:
            let contents = try TorchCheckpoint.read(data: bytes)
            let architecture = try UNetArchitecture.inferred(from: contents.tensors)
            var provenance = contents.provenance
            provenance.sourceSHA256 = sha256
            provenance.sourceFile = URL(fileURLWithPath: path).lastPathComponent
            return ModelFile(path: path, format: .pytorch, sha256: sha256, tensors: contents.tensors,
                             metadata: ModelMetadata(architecture: architecture, provenance: provenance))
        case .safetensors:
            var contents = try SafeTensors.decode([UInt8](bytes))
            // A training checkpoint also carries the optimizer's state; the model is the rest.
            contents.tensors = contents.tensors.filter { !$0.key.hasPrefix(Self.optimizerPrefix) }
            let architecture = try UNetArchitecture.inferred(from: contents.tensors)
            var metadata = ModelMetadata(architecture: architecture)
            if let json = contents.metadata[metadataKey] {
                do { metadata = try JSONDecoder().decode(ModelMetadata.self, from: Data(json.utf8)) } catch {
                    throw CheckpointProblem("safetensors metadata '\(metadataKey)' is not valid model metadata: \(error)")
                }
                guard metadata.architecture == architecture else {
                    throw CheckpointProblem("metadata says \(metadata.architecture) but the tensors are a \(architecture)")
                }
            }
            return ModelFile(path: path, format: .safetensors, sha256: sha256, tensors: contents.tensors, metadata: metadata)
        }
    }

    /// Tells the format by magic bytes; legacy and unknown formats are refused with a reason.
    static func detectFormat(_ bytes: Data) throws(CheckpointProblem) -> Format {
        let head = [UInt8](bytes.prefix(9))
        guard !head.isEmpty else { throw CheckpointProblem("empty file") }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .pytorch }
        if head.starts(with: [0x50, 0x4B]) { throw CheckpointProblem("zip archive that does not start with a local file header (truncated or damaged)") }
        if head.starts(with: [0x80, 0x02, 0x8A]) {
            throw CheckpointProblem("legacy (pre-1.6) torch serialization; load and re-save it with torch.save in PyTorch ≥ 1.6")
        }
        if head.count == 9 && head[8] == UInt8(ascii: "{") { return .safetensors }
        throw CheckpointProblem("neither a PyTorch checkpoint (torch.save zip) nor safetensors")
    }

    private static func readBytes(_ path: String) throws(CheckpointProblem) -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointProblem("no such file") }
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw CheckpointProblem("cannot read: \(error.localizedDescription)")
        }
    }

    /// The inference network (BatchNorm folded), on this CPU's selected path.
    public func network(precision: Precision = .fp32) throws(CheckpointProblem) -> UNet {
        try UNet(stateDict: tensors, precision: precision)
    }

    /// This model as a native safetensors image with `metadata` in its header.
    public func safetensorsImage(metadata: ModelMetadata) -> [UInt8] { Self.safetensorsImage(tensors: tensors, metadata: metadata) }

    /// A native model file image: state-dict tensors (plus any extra tensors, e.g. optimizer state)
    /// and the metadata JSON, with further header strings in `extra`.
    public static func safetensorsImage(tensors: [String: Tensor], metadata: ModelMetadata, extra: [String: String] = [:]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try! encoder.encode(metadata), as: UTF8.self)
        return SafeTensors.encode(tensors: tensors, metadata: extra.merging(["format": "unetd-model/1", metadataKey: json]) { $1 })
    }
}

private extension Error {
    var message: String { (self as? CheckpointProblem)?.message ?? String(describing: self) }
}
