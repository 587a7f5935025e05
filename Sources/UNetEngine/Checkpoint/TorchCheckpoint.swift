import Foundation
import UNetCore

/// Reads a PyTorch checkpoint exactly as `torch.save` writes it: a zip holding `NAME/data.pkl`
/// (a pickle that references tensor storages by key) and `NAME/data/KEY` (raw little-endian storage bytes).
///
/// Understands the three shapes labs have: the reference project's training checkpoint
/// (`model_state_dict` + epoch/loss/accuracy), a bare state_dict, and milesial's state_dict with
/// `mask_values`. A `module.` prefix (DataParallel) is stripped; non-float entries are ignored.
enum TorchCheckpoint {
    struct Contents {
        var tensors: [String: Tensor]
        var provenance: Provenance
    }

    static func read(data: Data) throws(CheckpointProblem) -> Contents {
        let archive = try CheckpointZip(data: data)
        guard let pickleEntry = archive.entries.first(where: { entry in
            let parts = entry.path.split(separator: "/")
            return parts.last == "data.pkl" && parts.count <= 2
        }) else {
            throw CheckpointProblem("zip archive without data.pkl: not a torch.save checkpoint")
        }
        let prefix = pickleEntry.path.dropLast("data.pkl".count)
        if let byteOrderEntry = archive["\(prefix)byteorder"] {
            let order = String(decoding: try archive.contents(of: byteOrderEntry), as: UTF8.self)
            guard order.hasPrefix("little") else { throw CheckpointProblem("checkpoint is \(order)-endian; only little-endian is supported") }
        }
        let root = try RestrictedUnpickler.load(try archive.contents(of: pickleEntry))
        let (stateDict, provenance) = try locateStateDict(in: root)

        var storages: [String: [UInt8]] = [:]
        var tensors: [String: Tensor] = [:]
        for (keyValue, value) in stateDict.entries {
            guard var key = keyValue.string, case .tensor(let reference) = value,
                  reference.storage.scalarType.isFloatingPoint else { continue }
            if key.hasPrefix("module.") { key.removeFirst("module.".count) }
            let storageKey = reference.storage.key
            if storages[storageKey] == nil {
                guard let entry = archive["\(prefix)data/\(storageKey)"] else {
                    throw CheckpointProblem("tensor \(key): storage data/\(storageKey) is missing from the archive")
                }
                storages[storageKey] = try archive.contents(of: entry)
            }
            tensors[key] = try materialize(reference, bytes: storages[storageKey]!, name: key)
        }
        return Contents(tensors: tensors, provenance: provenance)
    }

    /// Finds the dict of tensors inside whatever the pickle's root is, and the training facts beside it.
    private static func locateStateDict(in root: PickleValue) throws(CheckpointProblem) -> (PickleDict, Provenance) {
        guard let rootDict = root.dict else {
            throw CheckpointProblem("checkpoint root is a \(root.kindName), expected a dict (a state_dict or a training checkpoint)")
        }
        for wrapperKey in ["model_state_dict", "state_dict", "model"] {
            if let inner = rootDict[wrapperKey]?.dict {
                var provenance = Provenance()
                provenance.epoch = rootDict["epoch"]?.int
                for (entryKey, value) in rootDict.entries {
                    if let name = entryKey.string, name != "epoch", let number = value.number {
                        provenance.metrics[name] = number
                    }
                }
                return (inner, provenance)
            }
        }
        return (rootDict, Provenance())
    }

    /// Copies a (possibly strided) view of a storage into a contiguous float32 tensor.
    private static func materialize(_ reference: TorchTensorReference, bytes: [UInt8], name: String) throws(CheckpointProblem) -> Tensor {
        let type = reference.storage.scalarType
        let available = bytes.count / type.byteSize
        guard let count = elementCount(ofUntrusted: reference.shape) else {
            throw CheckpointProblem("tensor \(name): shape \(reference.shape) has a negative size or too many elements")
        }
        if count == 0 { return Tensor(shape: reference.shape, scalars: []) }
        // The last element the view reaches, offset + Σ (size - 1) × stride, nil when that overflows.
        var last: Int? = reference.offset
        for (size, stride) in zip(reference.shape, reference.strides) {
            let (step, stepOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
            guard let sum = last, !stepOverflow else { last = nil; break }
            let (next, sumOverflow) = sum.addingReportingOverflow(step)
            last = sumOverflow ? nil : next
        }
        guard let last, last < available else {
            throw CheckpointProblem("tensor \(name): shape \(reference.shape) needs \(last.map { String($0 + 1) } ?? "more than \(Int.max)") \(type.rawValue) elements but its storage holds only \(available) (truncated tensor data)")
        }
        // Only a broadcast view (a zero stride) has more elements than its storage; a state dict holds none.
        guard count <= available else {
            throw CheckpointProblem("tensor \(name): shape \(reference.shape) has \(count) elements but its storage holds only \(available) (a broadcast view, not a parameter)")
        }
        var scalars = [Float](repeating: 0, count: count)
        let contiguousStrides = reference.shape.indices.map { reference.shape[($0 + 1)...].reduce(1, *) }
        bytes.withUnsafeBytes { raw in
            if reference.strides == contiguousStrides || count <= 1 {
                for flat in 0..<count { scalars[flat] = decode(raw, element: reference.offset + flat, as: type) }
                return
            }
            var index = [Int](repeating: 0, count: reference.shape.count)
            for flat in 0..<count {
                var source = reference.offset
                for d in index.indices { source += index[d] * reference.strides[d] }
                scalars[flat] = decode(raw, element: source, as: type)
                var d = index.count - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < reference.shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(shape: reference.shape, scalars: scalars)
    }

    /// The element count of a shape read from a file (`Tensor.elementCount(of:)`, the product left to
    /// right), or nil when a size is negative or the product overflows on the way.
    static func elementCount(ofUntrusted shape: [Int]) -> Int? {
        var count = 1
        for size in shape {
            guard size >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// One floating-point element of a storage, converted to Float (fp16, bf16 and fp64 included).
    static func decode(_ raw: UnsafeRawBufferPointer, element: Int, as type: TorchScalarType) -> Float {
        switch type {
        case .float32: Float(bitPattern: raw.loadUnaligned(fromByteOffset: element * 4, as: UInt32.self).littleEndian)
        case .float64: Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: element * 8, as: UInt64.self).littleEndian))
        case .float16: Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: element * 2, as: UInt16.self).littleEndian))
        case .bfloat16: Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: element * 2, as: UInt16.self).littleEndian) << 16)
        default: .nan
        }
    }
}
