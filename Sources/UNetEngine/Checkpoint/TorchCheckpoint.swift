import Foundation
import UNetCore
import ZIPFoundation

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
        guard hasEndOfCentralDirectory(data) else {
            throw CheckpointProblem("not a readable zip archive (truncated, or not written by torch.save ≥ 1.6): no end of central directory record")
        }
        let archive: Archive
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw CheckpointProblem("not a readable zip archive (truncated, or not written by torch.save ≥ 1.6): \(error)")
        }
        guard let pickleEntry = archive.first(where: { entry in
            let parts = entry.path.split(separator: "/")
            return parts.last == "data.pkl" && parts.count <= 2
        }) else {
            throw CheckpointProblem("zip archive without data.pkl: not a torch.save checkpoint")
        }
        let prefix = pickleEntry.path.dropLast("data.pkl".count)
        if let byteOrderEntry = archive["\(prefix)byteorder"] {
            let order = String(decoding: try bytes(of: byteOrderEntry, in: archive), as: UTF8.self)
            guard order.hasPrefix("little") else { throw CheckpointProblem("checkpoint is \(order)-endian; only little-endian is supported") }
        }
        let root = try RestrictedUnpickler.load(try bytes(of: pickleEntry, in: archive))
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
                storages[storageKey] = try bytes(of: entry, in: archive)
            }
            tensors[key] = try materialize(reference, bytes: storages[storageKey]!, name: key)
        }
        return Contents(tensors: tensors, provenance: provenance)
    }

    /// Whether `data` ends with a zip end-of-central-directory record that ZIPFoundation will find.
    ///
    /// ZIPFoundation (0.9.20) searches for the record byte by byte through the whole file, and its in-memory
    /// `Archive(data:)` leaks the archive's backing copy of the data when it finds none. The record lies in
    /// the last 22 + 65,535 (comment) bytes: look there first, the way ZIPFoundation then does (the last
    /// signature, whose comment must fit in the file), and never hand it a file without one.
    static func hasEndOfCentralDirectory(_ data: Data) -> Bool {
        let recordSize = 22
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            guard raw.count >= recordSize else { return false }
            var start = raw.count - recordSize
            let lowest = max(0, start - 0xFFFF)
            while start >= lowest {
                if raw[start] == 0x50, raw[start + 1] == 0x4B, raw[start + 2] == 0x05, raw[start + 3] == 0x06 {
                    let commentLength = Int(raw[start + 20]) | Int(raw[start + 21]) << 8
                    return commentLength <= raw.count - start - recordSize
                }
                start -= 1
            }
            return false
        }
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
        let count = Tensor.elementCount(of: reference.shape)
        let extent = count == 0 ? 0 : reference.offset + 1 + zip(reference.shape, reference.strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        guard extent <= available else {
            throw CheckpointProblem("tensor \(name): shape \(reference.shape) needs \(extent) \(type.rawValue) elements but its storage holds only \(available) (truncated tensor data)")
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

    private static func bytes(of entry: Entry, in archive: Archive) throws(CheckpointProblem) -> [UInt8] {
        var data = [UInt8]()
        data.reserveCapacity(Int(entry.uncompressedSize))
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { chunk in data.append(contentsOf: chunk) }
        } catch {
            throw CheckpointProblem("cannot read \(entry.path) from the archive (truncated or corrupt): \(error)")
        }
        return data
    }
}
