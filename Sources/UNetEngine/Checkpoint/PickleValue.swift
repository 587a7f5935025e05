/// A value produced by `RestrictedUnpickler`: plain Python data plus the few torch objects that
/// `torch.save` emits for tensors. Lists and dicts are reference types because pickle mutates them
/// after they are memoised. Containers know how deeply they nest (a tuple of scalars is 1), which
/// `RestrictedUnpickler` bounds.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    case global(TorchGlobal)
    case storage(TorchStorageReference)
    case tensor(TorchTensorReference)

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int? { if case .int(let i) = self { i } else { nil } }
    var dict: PickleDict? { if case .dict(let d) = self { d } else { nil } }

    /// Levels of containers in this value: 0 for a scalar.
    var depth: Int {
        switch self {
        case .tuple(_, let depth): depth
        case .list(let list): list.depth
        case .dict(let dict): dict.depth
        default: 0
        }
    }

    /// A number as a Double (ints and floats; a one-element tensor is not read here).
    var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .float(let f): f
        default: nil
        }
    }

    /// Short description for error messages.
    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let g): "global \(g)"
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

final class PickleList {
    var items: [PickleValue] = []
    var depth = 1
    /// Whether the list has been placed inside another container (after which it may not change).
    var isNested = false
}

/// An insertion-ordered dict, as Python's dict and OrderedDict are.
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
    var depth = 1
    /// Whether the dict has been placed inside another container (after which it may not change).
    var isNested = false

    subscript(key: String) -> PickleValue? {
        entries.first { $0.key.string == key }?.value
    }
}

/// The only Python globals a checkpoint may reference; anything else refuses the whole file.
enum TorchGlobal: Equatable, CustomStringConvertible {
    case rebuildTensorV2
    case rebuildParameter
    case orderedDict
    case storageType(TorchScalarType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch", _):
            guard name.hasSuffix("Storage"), let type = TorchScalarType(storageName: name) else { return nil }
            self = .storageType(type)
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .orderedDict: "collections.OrderedDict"
        case .storageType(let t): "torch.\(t.storageName)"
        }
    }
}

/// Element types a torch storage can hold.
enum TorchScalarType: String, CaseIterable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    init?(storageName: String) {
        guard let match = Self.allCases.first(where: { $0.storageName == storageName }) else { return nil }
        self = match
    }

    var storageName: String {
        switch self {
        case .float32: "FloatStorage"
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        case .float64: "DoubleStorage"
        case .int64: "LongStorage"
        case .int32: "IntStorage"
        case .int16: "ShortStorage"
        case .int8: "CharStorage"
        case .uint8: "ByteStorage"
        case .bool: "BoolStorage"
        }
    }

    var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    var isFloatingPoint: Bool { [.float32, .float16, .bfloat16, .float64].contains(self) }
}

/// A storage named by a persistent id: its bytes live in the zip entry `data/<key>`.
struct TorchStorageReference {
    let key: String
    let scalarType: TorchScalarType
    let elementCount: Int
}

/// A tensor view over a storage, exactly as `_rebuild_tensor_v2` receives it.
struct TorchTensorReference {
    let storage: TorchStorageReference
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}
