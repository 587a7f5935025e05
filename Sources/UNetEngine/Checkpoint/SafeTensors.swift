import Foundation
import UNetCore

/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
/// F32 is written; F16, BF16 and F64 are converted to F32 on read.
public enum SafeTensors {
    /// Largest header accepted (the format's own limit is 100 MB).
    static let maximumHeaderBytes = 100_000_000

    public struct Contents: Sendable {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
    }

    /// Reads every tensor and the `__metadata__` strings of a safetensors file.
    public static func read(url: URL) throws(CheckpointProblem) -> Contents {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw CheckpointProblem("cannot read file: \(error.localizedDescription)") }
        return try decode([UInt8](data))
    }

    public static func decode(_ bytes: [UInt8]) throws(CheckpointProblem) -> Contents {
        guard bytes.count >= 8 else { throw CheckpointProblem("file of \(bytes.count) bytes is too short for a safetensors header") }
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(min(maximumHeaderBytes, bytes.count - 8)) else {
            throw CheckpointProblem("safetensors header claims \(headerLength) bytes but the file holds \(bytes.count - 8) after the length (truncated or not safetensors)")
        }
        let dataStart = 8 + Int(headerLength)
        let header: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) as? [String: Any] else {
                throw CheckpointProblem("safetensors header is not a JSON object")
            }
            header = object
        } catch let problem as CheckpointProblem { throw problem } catch {
            throw CheckpointProblem("safetensors header is not valid JSON")
        }
        var contents = Contents(tensors: [:], metadata: [:])
        for (name, value) in header {
            if name == "__metadata__" {
                guard let metadata = value as? [String: String] else { throw CheckpointProblem("safetensors __metadata__ must map strings to strings") }
                contents.metadata = metadata
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw CheckpointProblem("tensor \(name): header entry lacks dtype, shape or data_offsets")
            }
            let type: TorchScalarType
            switch dtype {
            case "F32": type = .float32
            case "F16": type = .float16
            case "BF16": type = .bfloat16
            case "F64": type = .float64
            default: throw CheckpointProblem("tensor \(name): dtype \(dtype) is not supported (F32, F16, BF16, F64 are)")
            }
            guard let count = TorchCheckpoint.elementCount(ofUntrusted: shape) else {
                throw CheckpointProblem("tensor \(name): shape \(shape) has a negative size or too many elements")
            }
            // Checked in this order, nothing below can overflow.
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= bytes.count - dataStart,
                  count <= (offsets[1] - offsets[0]) / type.byteSize, offsets[1] - offsets[0] == count * type.byteSize else {
                throw CheckpointProblem("tensor \(name): shape \(shape) of \(dtype) needs \(count) elements of \(type.byteSize) bytes, its byte range \(offsets) does not hold them within the file (truncated?)")
            }
            let scalars = bytes.withUnsafeBytes { raw in
                let slice = UnsafeRawBufferPointer(rebasing: raw[(dataStart + offsets[0])..<(dataStart + offsets[1])])
                return (0..<count).map { TorchCheckpoint.decode(slice, element: $0, as: type) }
            }
            contents.tensors[name] = Tensor(shape: shape, scalars: scalars)
        }
        return contents
    }

    /// Encodes tensors (sorted by name, F32) and metadata as a safetensors file image.
    public static func encode(tensors: [String: Tensor], metadata: [String: String]) -> [UInt8] {
        let names = tensors.keys.sorted()
        var header: [String: Any] = metadata.isEmpty ? [:] : ["__metadata__": metadata]
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + tensor.count * 4]]
            offset += tensor.count * 4
        }
        var headerBytes = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var output = [UInt8]()
        output.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: headerBytes)
        for name in names {
            tensors[name]!.scalars.withUnsafeBytes { output.append(contentsOf: $0) }  // x86-64 and arm64 are little-endian
        }
        return output
    }
}
