import Foundation
import ZIPFoundation

/// The zip container of a `torch.save` checkpoint, read from the file's bytes already in memory.
///
/// Every offset and size in the archive is checked against the bytes before it is used, so a damaged or
/// hostile archive is refused with a reason. (ZIPFoundation's `Archive(data:)` traps when an offset
/// points past the end of the data and leaks the data when it finds no end record; its `Archive(url:)`
/// would read the file a second time. ZIPFoundation still inflates deflated entries.)
/// Zip64 is understood: torch.save writes it for checkpoints over 4 GiB.
struct CheckpointZip {
    struct Entry {
        let path: String
        /// 0 stored (what torch.save writes), 8 deflated.
        let method: Int
        let crc32: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    /// Entries in central-directory order.
    private(set) var entries: [Entry] = []
    /// Index in `entries` of the first entry at each path.
    private var index: [String: Int] = [:]
    private let data: Data

    private static let endRecordSize = 22, centralHeaderSize = 46, localHeaderSize = 30
    private static let zip64LocatorSize = 20, zip64EndRecordSize = 56

    init(data: Data) throws(CheckpointProblem) {
        self.data = data
        guard let end = Self.endOfCentralDirectory(data) else {
            throw CheckpointProblem("not a readable zip archive (truncated, or not written by torch.save ≥ 1.6): no end of central directory record")
        }
        var count = UInt64(u16(end + 10)), size = UInt64(u32(end + 12)), offset = UInt64(u32(end + 16))
        let locator = end - Self.zip64LocatorSize
        if locator >= Self.zip64EndRecordSize, u32(locator) == 0x0706_4B50 {
            let record = u64(locator + 8)
            guard record <= UInt64(locator - Self.zip64EndRecordSize), u32(Int(record)) == 0x0606_4B50 else {
                throw CheckpointProblem("damaged zip archive: its zip64 end record is missing or misplaced")
            }
            count = u64(Int(record) + 32)
            size = u64(Int(record) + 40)
            offset = u64(Int(record) + 48)
        }
        guard offset <= UInt64(data.count), size <= UInt64(data.count) - offset else {
            throw CheckpointProblem("damaged zip archive: its central directory (\(size) bytes at \(offset)) lies outside the file's \(data.count) bytes (truncated?)")
        }
        guard count <= size / UInt64(Self.centralHeaderSize) else {
            throw CheckpointProblem("damaged zip archive: \(count) entries cannot fit in a central directory of \(size) bytes")
        }
        let directoryEnd = Int(offset + size)
        var at = Int(offset)
        for number in 0..<Int(count) {
            guard at <= directoryEnd - Self.centralHeaderSize, u32(at) == 0x0201_4B50 else {
                throw CheckpointProblem("damaged zip archive: central directory entry \(number) is not where its directory says")
            }
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            let variableStart = at + Self.centralHeaderSize
            guard nameLength + extraLength + commentLength <= directoryEnd - variableStart else {
                throw CheckpointProblem("damaged zip archive: central directory entry \(number) runs past the directory")
            }
            guard u16(at + 8) & 1 == 0 else { throw CheckpointProblem("zip entry \(number) is encrypted") }
            var compressed = UInt64(u32(at + 20)), uncompressed = UInt64(u32(at + 24)), local = UInt64(u32(at + 42))
            if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
                // Zip64 extended information: the fields saturated above, 8 bytes each, in this order.
                var extra = variableStart + nameLength
                let extraEnd = extra + extraLength
                var found = false
                while extra + 4 <= extraEnd {
                    let id = u16(extra), length = u16(extra + 2), body = extra + 4
                    guard length <= extraEnd - body else { break }
                    if id == 0x0001 {
                        var field = body
                        func next() throws(CheckpointProblem) -> UInt64 {
                            guard field + 8 <= body + length else {
                                throw CheckpointProblem("damaged zip archive: entry \(number)'s zip64 sizes are cut short")
                            }
                            defer { field += 8 }
                            return u64(field)
                        }
                        if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                        if compressed == 0xFFFF_FFFF { compressed = try next() }
                        if local == 0xFFFF_FFFF { local = try next() }
                        found = true
                        break
                    }
                    extra = body + length
                }
                guard found else { throw CheckpointProblem("damaged zip archive: entry \(number) lacks its zip64 sizes") }
            }
            // Nothing of an entry can lie outside the file; an inflated entry is bounded by deflate's ratio.
            guard local <= UInt64(data.count), compressed <= UInt64(data.count),
                  uncompressed <= max(compressed, 1) &* 1032 else {
                throw CheckpointProblem("damaged zip archive: entry \(number) claims sizes or an offset beyond the file's \(data.count) bytes")
            }
            let path = String(decoding: data[(data.startIndex + variableStart)..<(data.startIndex + variableStart + nameLength)], as: UTF8.self)
            if index[path] == nil { index[path] = entries.count }
            entries.append(Entry(path: path, method: u16(at + 10), crc32: u32(at + 16), compressedSize: Int(compressed),
                                 uncompressedSize: Int(uncompressed), localHeaderOffset: Int(local)))
            at = variableStart + nameLength + extraLength + commentLength
        }
    }

    /// The first entry at `path`.
    subscript(path: String) -> Entry? { index[path].map { entries[$0] } }

    /// The entry's bytes, inflated if need be, checked against its CRC-32.
    func contents(of entry: Entry) throws(CheckpointProblem) -> [UInt8] {
        let at = entry.localHeaderOffset
        guard at <= data.count - Self.localHeaderSize, u32(at) == 0x0403_4B50 else {
            throw CheckpointProblem("cannot read \(entry.path) from the archive (truncated or corrupt): no local header at byte \(at)")
        }
        let start = at + Self.localHeaderSize + u16(at + 26) + u16(at + 28)
        guard start <= data.count, entry.compressedSize <= data.count - start else {
            throw CheckpointProblem("cannot read \(entry.path) from the archive (truncated or corrupt): its \(entry.compressedSize) bytes run past the end of the file")
        }
        let stored = data[(data.startIndex + start)..<(data.startIndex + start + entry.compressedSize)]
        let bytes: [UInt8], checksum: UInt32
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw CheckpointProblem("cannot read \(entry.path) from the archive (corrupt): stored entry of \(entry.compressedSize) bytes claims \(entry.uncompressedSize)")
            }
            bytes = [UInt8](stored)
            checksum = Self.crc32(stored)
        case 8:
            (bytes, checksum) = try Self.inflate(stored, expected: entry.uncompressedSize, path: entry.path)
        default:
            throw CheckpointProblem("cannot read \(entry.path) from the archive: compression method \(entry.method) (torch.save stores entries uncompressed)")
        }
        guard checksum == entry.crc32 else {
            throw CheckpointProblem("cannot read \(entry.path) from the archive (truncated or corrupt): CRC-32 mismatch")
        }
        return bytes
    }

    /// CRC-32 through ZIPFoundation (zlib), a GiB at a time (it takes the length as a UInt32).
    private static func crc32(_ bytes: Data) -> UInt32 {
        var checksum: UInt32 = 0, at = bytes.startIndex
        repeat {
            let end = min(bytes.endIndex, at + (1 << 30))
            checksum = bytes[at..<end].crc32(checksum: checksum)
            at = end
        } while at < bytes.endIndex
        return checksum
    }

    /// Inflates a raw deflate stream through ZIPFoundation, refusing more output than `expected` bytes;
    /// returns the bytes and their CRC-32.
    private static func inflate(_ compressed: Data, expected: Int, path: String) throws(CheckpointProblem) -> ([UInt8], UInt32) {
        var output = [UInt8]()
        output.reserveCapacity(min(expected, 64 << 20))
        let checksum: UInt32
        do {
            checksum = try Data.decompress(size: Int64(compressed.count), bufferSize: 1 << 16, skipCRC32: false, provider: { position, size in
                // On Linux ZIPFoundation tells zlib that every chunk is as long as it asked for: pad the last
                // one, and stop past the end (it would ask again forever). Apple's path asks for exact sizes.
                let from = Int(position)
                guard size > 0 else { return Data() }
                guard from < compressed.count else { throw CheckpointProblem("the deflate stream runs past its entry") }
                var chunk = Data(compressed[(compressed.startIndex + from)..<(compressed.startIndex + min(compressed.count, from + size))])
                if chunk.count < size { chunk.append(Data(count: size - chunk.count)) }
                return chunk
            }, consumer: { piece in
                guard piece.count <= expected - output.count else { throw CheckpointProblem("it inflates past its declared \(expected) bytes") }
                output.append(contentsOf: piece)
            })
        } catch {
            throw CheckpointProblem("cannot read \(path) from the archive (truncated or corrupt): \(error)")
        }
        guard output.count == expected else {
            throw CheckpointProblem("cannot read \(path) from the archive (truncated or corrupt): it inflates to \(output.count) bytes, not \(expected)")
        }
        return (output, checksum)
    }

    /// Where the end-of-central-directory record starts: the last signature in the final 22 + 65,535
    /// (comment) bytes whose comment fits in the file.
    static func endOfCentralDirectory(_ data: Data) -> Int? {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int? in
            guard raw.count >= endRecordSize else { return nil }
            var start = raw.count - endRecordSize
            let lowest = max(0, start - 0xFFFF)
            while start >= lowest {
                if raw[start] == 0x50, raw[start + 1] == 0x4B, raw[start + 2] == 0x05, raw[start + 3] == 0x06 {
                    let commentLength = Int(raw[start + 20]) | Int(raw[start + 21]) << 8
                    return commentLength <= raw.count - start - endRecordSize ? start : nil
                }
                start -= 1
            }
            return nil
        }
    }

    // Little-endian fields at byte offsets the callers have checked.
    private func u16(_ at: Int) -> Int { Int(data[data.startIndex + at]) | Int(data[data.startIndex + at + 1]) << 8 }
    private func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
    private func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
}
