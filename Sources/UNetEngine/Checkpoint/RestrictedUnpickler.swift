/// Interprets (never executes) the pickle stream of a `torch.save` checkpoint.
///
/// Only the opcodes Python emits for plain data (protocols 2–5) and the globals in `TorchGlobal` are
/// understood. Any other global (`os.system`, `builtins.eval`, ...) refuses the whole file before
/// anything is built from it, so a malicious checkpoint cannot do more than fail to load.
///
/// What it builds is acyclic and at most `maximumDepth` containers deep: a list or dict cannot change
/// once it is inside another container, nor go inside itself. torch.save never writes otherwise, and
/// a cycle would never be freed while a deep nest (one byte per level) would overflow the stack when
/// released, which happens level by level, recursively.
struct RestrictedUnpickler {
    /// Deepest nesting of containers accepted (torch.save writes about five).
    static let maximumDepth = 100

    private let bytes: [UInt8]
    private var position = 0
    private var stack: [PickleValue] = []
    private var markStack: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Runs the stream to its STOP opcode and returns the root object.
    static func load(_ bytes: [UInt8]) throws(CheckpointProblem) -> PickleValue {
        var machine = RestrictedUnpickler(bytes: bytes)
        do {
            return try machine.run()
        } catch {
            throw CheckpointProblem("\(error.message) (data.pkl byte \(machine.position))")
        }
    }

    private mutating func run() throws(CheckpointProblem) -> PickleValue {
        while true {
            let opcode = try readByte()
            switch opcode {
            case 0x80: _ = try readByte()                                   // PROTO
            case 0x95: _ = try read(8)                                      // FRAME
            case 0x2E: return try pop()                                     // STOP
            case 0x28: markStack.append(stack.count)                        // MARK
            case 0x30: _ = try pop()                                        // POP
            case 0x31: _ = try popMark()                                    // POP_MARK
            case 0x32: stack.append(try top())                              // DUP
            case 0x4E: stack.append(.none)                                  // NONE
            case 0x88: stack.append(.bool(true))                            // NEWTRUE
            case 0x89: stack.append(.bool(false))                           // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try readUInt(4))))))   // BININT
            case 0x4B: stack.append(.int(Int(try readByte())))                      // BININT1
            case 0x4D: stack.append(.int(Int(try readUInt(2))))                     // BININT2
            case 0x8A: stack.append(.int(try readLong(length: Int(try readByte())))) // LONG1
            case 0x8B: stack.append(.int(try readLong(length: try readLength(4))))  // LONG4
            case 0x47: stack.append(.float(Double(bitPattern: try readBigEndianUInt64()))) // BINFLOAT
            case 0x58: stack.append(.string(try readString(length: try readLength(4))))    // BINUNICODE
            case 0x8C: stack.append(.string(try readString(length: Int(try readByte())))) // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try readString(length: try readLength(8))))    // BINUNICODE8
            case 0x54: stack.append(.string(try readString(length: try readLength(4))))    // BINSTRING
            case 0x55: stack.append(.string(try readString(length: Int(try readByte())))) // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(try read(try readLength(4))))                   // BINBYTES
            case 0x43: stack.append(.bytes(try read(Int(try readByte()))))                 // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(try read(try readLength(8))))                   // BINBYTES8
            case 0x29: stack.append(.tuple([], depth: 1))                       // EMPTY_TUPLE
            case 0x74: stack.append(try tuple(try popMark()))                   // TUPLE
            case 0x85: stack.append(try tuple(try pop(1)))                      // TUPLE1
            case 0x86: stack.append(try tuple(try pop(2)))                      // TUPLE2
            case 0x87: stack.append(try tuple(try pop(3)))                      // TUPLE3
            case 0x5D: stack.append(.list(PickleList()))                        // EMPTY_LIST
            case 0x6C: let list = PickleList(); try append(try popMark(), to: list); stack.append(.list(list)) // LIST
            case 0x61: let items = try pop(1); try append(items, to: try topList()) // APPEND (pop before reading the list)
            case 0x65: let items = try popMark(); try append(items, to: try topList()) // APPENDS
            case 0x7D: stack.append(.dict(PickleDict()))                        // EMPTY_DICT
            case 0x64: let dict = PickleDict(); try setItems(try popMark(), in: dict); stack.append(.dict(dict)) // DICT
            case 0x73: let items = try pop(2); try setItems(items, in: try topDict()) // SETITEM
            case 0x75: let items = try popMark(); try setItems(items, in: try topDict()) // SETITEMS
            case 0x63:                                                          // GLOBAL
                let module = try readLine(), name = try readLine()
                stack.append(.global(try allowedGlobal(module: module, name: name)))
            case 0x93:                                                          // STACK_GLOBAL
                let parts = try pop(2)
                guard let module = parts[0].string, let name = parts[1].string else {
                    throw CheckpointProblem("pickle STACK_GLOBAL without module and name strings")
                }
                stack.append(.global(try allowedGlobal(module: module, name: name)))
            case 0x52:                                                          // REDUCE
                let arguments = try pop(), callable = try pop()
                stack.append(try call(callable, arguments))
            case 0x81:                                                          // NEWOBJ
                let arguments = try pop(), cls = try pop()
                stack.append(try call(cls, arguments))
            case 0x62:                                                          // BUILD
                _ = try pop()  // state: OrderedDict's `_metadata`, tensor hooks; nothing we need
                guard case .dict = try top() else {
                    if case .tensor = try top() { continue }
                    throw CheckpointProblem("pickle BUILD on a \(try top().kindName)")
                }
            case 0x51: stack.append(try persistentLoad(try pop()))             // BINPERSID
            case 0x71: memo[Int(try readByte())] = try top()                   // BINPUT
            case 0x72: memo[Int(try readUInt(4))] = try top()                  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                            // MEMOIZE
            case 0x68: stack.append(try memoValue(Int(try readByte())))        // BINGET
            case 0x6A: stack.append(try memoValue(Int(try readUInt(4))))       // LONG_BINGET
            default:
                throw CheckpointProblem("unsupported pickle opcode 0x\(String(opcode, radix: 16)) at byte \(position - 1)")
            }
        }
    }

    // MARK: torch objects

    private func allowedGlobal(module: String, name: String) throws(CheckpointProblem) -> TorchGlobal {
        guard let global = TorchGlobal(module: module, name: name) else {
            throw CheckpointProblem("refused: the pickle references the global '\(module).\(name)', which torch.save never writes for tensors and dicts (the file may be malicious; nothing was executed)")
        }
        return global
    }

    private func call(_ callable: PickleValue, _ arguments: PickleValue) throws(CheckpointProblem) -> PickleValue {
        guard case .global(let global) = callable, case .tuple(let args, _) = arguments else {
            throw CheckpointProblem("pickle calls a \(callable.kindName) with \(arguments.kindName)")
        }
        switch global {
        case .orderedDict:
            return .dict(PickleDict())
        case .rebuildParameter:
            guard let first = args.first, case .tensor = first else {
                throw CheckpointProblem("_rebuild_parameter without a tensor")
            }
            return first
        case .rebuildTensorV2:
            guard args.count >= 4, case .storage(let storage) = args[0], let offset = args[1].int,
                  case .tuple(let sizeValues, _) = args[2], case .tuple(let strideValues, _) = args[3] else {
                throw CheckpointProblem("_rebuild_tensor_v2 with unexpected arguments")
            }
            let shape = sizeValues.compactMap(\.int), strides = strideValues.compactMap(\.int)
            guard shape.count == sizeValues.count, strides.count == shape.count,
                  shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), offset >= 0 else {
                throw CheckpointProblem("_rebuild_tensor_v2 with a malformed size or stride")
            }
            return .tensor(TorchTensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        case .storageType(let type):
            throw CheckpointProblem("pickle calls torch.\(type.storageName) directly")
        }
    }

    /// `('storage', storage_type, key, location, numel)` as torch.save writes persistent ids.
    private func persistentLoad(_ id: PickleValue) throws(CheckpointProblem) -> PickleValue {
        guard case .tuple(let fields, _) = id, fields.count == 5, fields[0].string == "storage",
              case .global(.storageType(let type)) = fields[1], let key = fields[2].string,
              let count = fields[4].int, count >= 0 else {
            throw CheckpointProblem("unrecognised persistent id in pickle (not a torch storage)")
        }
        guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw CheckpointProblem("storage key '\(key)' is not a plain name")
        }
        return .storage(TorchStorageReference(key: key, scalarType: type, elementCount: count))
    }

    // MARK: stack

    private mutating func pop() throws(CheckpointProblem) -> PickleValue {
        guard let value = stack.popLast() else { throw CheckpointProblem("pickle stack underflow") }
        if let mark = markStack.last, stack.count < mark { throw CheckpointProblem("pickle pops past a mark") }
        return value
    }

    private mutating func pop(_ count: Int) throws(CheckpointProblem) -> [PickleValue] {
        guard stack.count >= count + (markStack.last ?? 0) else { throw CheckpointProblem("pickle stack underflow") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private mutating func popMark() throws(CheckpointProblem) -> [PickleValue] {
        guard let mark = markStack.popLast(), mark <= stack.count else { throw CheckpointProblem("pickle mark missing") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func top() throws(CheckpointProblem) -> PickleValue {
        guard let value = stack.last else { throw CheckpointProblem("pickle stack empty") }
        return value
    }

    private func topDict() throws(CheckpointProblem) -> PickleDict {
        guard case .dict(let dict) = try top() else { throw CheckpointProblem("pickle sets items on a \(try top().kindName)") }
        return dict
    }

    private func topList() throws(CheckpointProblem) -> PickleList {
        guard case .list(let list) = try top() else { throw CheckpointProblem("pickle appends to a \(try top().kindName)") }
        return list
    }

    private func tuple(_ items: [PickleValue]) throws(CheckpointProblem) -> PickleValue {
        .tuple(items, depth: try nest(items, in: nil))
    }

    private func append(_ items: [PickleValue], to list: PickleList) throws(CheckpointProblem) {
        guard !list.isNested else { throw CheckpointProblem(Self.changedAfterNesting) }
        list.depth = max(list.depth, try nest(items, in: list))
        list.items.append(contentsOf: items)
    }

    private func setItems(_ flat: [PickleValue], in dict: PickleDict) throws(CheckpointProblem) {
        guard flat.count % 2 == 0 else { throw CheckpointProblem("pickle dict items come in an odd number") }
        guard !dict.isNested else { throw CheckpointProblem(Self.changedAfterNesting) }
        dict.depth = max(dict.depth, try nest(flat, in: dict))
        for i in stride(from: 0, to: flat.count, by: 2) { dict.entries.append((flat[i], flat[i + 1])) }
    }

    private static let changedAfterNesting = "pickle changes a list or dict after placing it inside another container (a reference cycle, which torch.save never writes)"

    /// Marks the lists and dicts among `items` as placed inside `container` (nil: a new tuple) and returns
    /// the container's depth with them, refusing a container inside itself and nesting past `maximumDepth`.
    private func nest(_ items: [PickleValue], in container: AnyObject?) throws(CheckpointProblem) -> Int {
        var depth = 1
        for item in items {
            switch item {
            case .list(let list):
                guard list !== container else { throw CheckpointProblem("pickle puts a list inside itself") }
                list.isNested = true
            case .dict(let dict):
                guard dict !== container else { throw CheckpointProblem("pickle puts a dict inside itself") }
                dict.isNested = true
            default: break
            }
            depth = max(depth, item.depth + 1)
        }
        guard depth <= Self.maximumDepth else {
            throw CheckpointProblem("pickle nests containers more than \(Self.maximumDepth) deep")
        }
        return depth
    }

    private func memoValue(_ index: Int) throws(CheckpointProblem) -> PickleValue {
        guard let value = memo[index] else { throw CheckpointProblem("pickle memo entry \(index) missing") }
        return value
    }

    // MARK: reading

    private mutating func readByte() throws(CheckpointProblem) -> UInt8 {
        guard position < bytes.count else { throw CheckpointProblem("pickle ends before its STOP opcode (truncated data.pkl)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func read(_ count: Int) throws(CheckpointProblem) -> [UInt8] {
        guard count >= 0, count <= bytes.count - position else {
            throw CheckpointProblem("pickle field of \(count) bytes runs past the end of data.pkl")
        }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    private mutating func readUInt(_ count: Int) throws(CheckpointProblem) -> UInt64 {
        try read(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func readLength(_ count: Int) throws(CheckpointProblem) -> Int {
        let value = try readUInt(count)
        guard value <= UInt64(bytes.count) else { throw CheckpointProblem("pickle length \(value) exceeds the file") }
        return Int(value)
    }

    private mutating func readBigEndianUInt64() throws(CheckpointProblem) -> UInt64 {
        try read(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Little-endian two's complement of up to 8 bytes (Python ints that fit an Int).
    private mutating func readLong(length: Int) throws(CheckpointProblem) -> Int {
        guard length <= 8 else { throw CheckpointProblem("pickle integer of \(length) bytes is too large") }
        let raw = try read(length)
        guard let last = raw.last else { return 0 }
        var value: UInt64 = last & 0x80 != 0 ? ~0 : 0
        for byte in raw.reversed() { value = value << 8 | UInt64(byte) }
        return Int(Int64(bitPattern: value))
    }

    private mutating func readString(length: Int) throws(CheckpointProblem) -> String {
        String(decoding: try read(length), as: UTF8.self)
    }

    private mutating func readLine() throws(CheckpointProblem) -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw CheckpointProblem("pickle GLOBAL without a newline") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }
}
