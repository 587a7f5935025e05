// libFuzzer harness: the PyTorch checkpoint reader through its public entry point, ModelFile.load(path:)
// (zip via ZIPFoundation, RestrictedUnpickler, TorchCheckpoint, architecture inference).
// (scripts/fuzz.sh pth)
//
// Two kinds of input:
//   - starting with "PK\x03\x04": a whole .pth file, written as is;
//   - anything else: [UInt16 LE pickle length][data.pkl][storage bytes]. The harness wraps it in a
//     valid stored zip laid out as torch.save does (archive/data.pkl, archive/byteorder, and
//     archive/data/KEY for every storage key the pickle seems to name, sized by the element count that
//     follows the key, filled by repeating the storage bytes), so mutations reach the unpickler and the
//     tensor reader instead of dying on the zip's CRC-32.
import Foundation
import UNetEngine
import ZIPFoundation

private let inputPath: String = {
    let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(directory)/unet-fuzz-pth-\(getpid()).pth"
}()

/// FUZZ_VERBOSE=1: print why each input was refused (for checking that seeds get deep).
private let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil
/// FUZZ_PTH_OUT=PATH: also write the .pth file made from the (last) input there, e.g. to turn a crash
/// in the wrapped form into a regression fixture.
private let keepPath = ProcessInfo.processInfo.environment["FUZZ_PTH_OUT"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let file: [UInt8]
    if input.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
        file = Array(input)
    } else {
        let declared = size >= 2 ? Int(input[0]) | Int(input[1]) << 8 : 0
        let pickleEnd = min(size, 2 + declared)
        let pickle = size >= 2 ? Array(input[2..<pickleEnd]) : []
        let fill = Array(input[pickleEnd...])
        var entries: [(String, [UInt8])] = [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))]
        var budget = 128 << 10
        for (key, elements) in storageKeys(in: pickle) {
            let count = min(elements * 4, budget)
            budget -= count
            var storage = [UInt8]()
            storage.reserveCapacity(count)
            while storage.count < count { storage += fill.isEmpty ? [UInt8](repeating: 0, count: count) : Array(fill.prefix(count - storage.count)) }
            entries.append(("archive/data/\(key)", storage))
        }
        file = StoredZip.image(entries)
    }
    guard FileManager.default.createFile(atPath: inputPath, contents: Data(file)) else { fatalError("cannot write \(inputPath)") }
    if let keepPath { _ = FileManager.default.createFile(atPath: keepPath, contents: Data(file)) }
    do { _ = try ModelFile.load(path: inputPath) } catch { if verbose { print("FuzzPTH: \(error.problem)") } }
    return 0
}

/// The storage keys the pickle seems to name, with their element counts: strings of 1–8 letters, digits or
/// underscores (torch.save's keys are "0", "1", ...) followed, as in a persistent id
/// `('storage', FloatStorage, KEY, 'cpu', COUNT)`, by a location string and an integer; at most 256 of them.
/// A key without a readable count gets 16 elements.
private func storageKeys(in pickle: [UInt8]) -> [(key: String, elements: Int)] {
    var keys: [(String, Int)] = [], seen = Set<String>(), i = 0
    func byte(_ at: Int) -> Int { at < pickle.count ? Int(pickle[at]) : -1 }
    /// A string opcode at `at`: where its bytes start and how many there are.
    func string(at: Int) -> (start: Int, length: Int)? {
        switch byte(at) {
        case 0x8C: return (at + 2, max(byte(at + 1), 0))
        case 0x58:
            let length = byte(at + 1) | byte(at + 2) << 8 | byte(at + 3) << 16 | byte(at + 4) << 24
            return length >= 0 && at + 5 + length <= pickle.count ? (at + 5, length) : nil
        default: return nil
        }
    }
    /// Skips memo opcodes (BINPUT, LONG_BINPUT, MEMOIZE).
    func skipMemo(_ at: Int) -> Int {
        switch byte(at) {
        case 0x71: return at + 2
        case 0x72: return at + 5
        case 0x94: return at + 1
        default: return at
        }
    }
    while i < pickle.count && keys.count < 256 {
        defer { i += 1 }
        guard let (start, length) = string(at: i), (1...8).contains(length), start + length <= pickle.count else { continue }
        let bytes = pickle[start..<(start + length)]
        guard bytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else { continue }
        let key = String(decoding: bytes, as: UTF8.self)
        guard seen.insert(key).inserted else { continue }
        // The location: a string, or a memo fetch (BINGET, LONG_BINGET) of one.
        var at = skipMemo(start + length)
        if let location = string(at: at) { at = location.start + location.length } else if byte(at) == 0x68 { at += 2 } else if byte(at) == 0x6A { at += 5 }
        at = skipMemo(at)
        var elements = 16
        switch byte(at) {
        case 0x4B: elements = byte(at + 1)                                                              // BININT1
        case 0x4D: elements = byte(at + 1) | byte(at + 2) << 8                                          // BININT2
        case 0x4A: elements = byte(at + 1) | byte(at + 2) << 8 | byte(at + 3) << 16 | byte(at + 4) << 24 // BININT
        default: break
        }
        keys.append((key, max(0, min(elements, 1 << 18))))
    }
    return keys
}

/// A minimal zip writer: stored (uncompressed) entries, local headers and central directory.
private enum StoredZip {
    static func crc32(_ bytes: [UInt8]) -> UInt32 { Data(bytes).crc32(checksum: 0) }  // ZIPFoundation's (zlib)

    static func image(_ entries: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: UInt32, _ into: inout [UInt8]) { for s in stride(from: 0, to: 32, by: 8) { into.append(UInt8(v >> UInt32(s) & 0xFF)) } }
        for (name, body) in entries {
            let nameBytes = Array(name.utf8), crc = crc32(body), offset = UInt32(out.count)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(UInt32(body.count), &out); u32(UInt32(body.count), &out)
            u16(nameBytes.count, &out); u16(0, &out); out += nameBytes; out += body
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(crc, &central); u32(UInt32(body.count), &central); u32(UInt32(body.count), &central)
            u16(nameBytes.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central); central += nameBytes
        }
        let centralOffset = UInt32(out.count)
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(UInt32(central.count), &out); u32(centralOffset, &out); u16(0, &out)
        return out
    }
}
