import Foundation
import TestSupport
import Testing
@testable import UNetEngine

/// The zip reader under TorchCheckpoint: stored, deflated and zip64 entries, and every size or offset
/// that does not fit the file refused with a reason.
@Suite struct CheckpointZipTests {
    @Test func readsEveryEntryOfATorchSaveArchive() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.engine("bare_transposed_c2.pth")))
        let zip = try CheckpointZip(data: data)
        #expect(zip.entries.count == 124)
        let pickle = try #require(zip["bare_transposed_c2/data.pkl"])
        #expect(try zip.contents(of: pickle).count == 17546)
        #expect(try zip.contents(of: #require(zip["bare_transposed_c2/byteorder"])) == Array("little".utf8))
    }

    @Test(arguments: [false, true])
    func readsStoredAndDeflatedEntries(zip64: Bool) throws {
        let body = Array("(dp0\n.".utf8) + [UInt8](repeating: 7, count: 300)
        let image = TestZip.image([("a/data.pkl", body, false), ("a/byteorder", Array("little".utf8), true)], zip64Fields: zip64)
        let zip = try CheckpointZip(data: Data(image))
        #expect(zip.entries.map(\.path) == ["a/data.pkl", "a/byteorder"])
        #expect(try zip.contents(of: #require(zip["a/data.pkl"])) == body)
        #expect(try zip.contents(of: #require(zip["a/byteorder"])) == Array("little".utf8))
    }

    @Test func refusesAChangedByte() throws {
        var image = TestZip.image([("a/data.pkl", Array("0123456789".utf8), false)])
        image[30 + "a/data.pkl".utf8.count + 3] ^= 1
        let zip = try CheckpointZip(data: Data(image))
        #expect(problem { try zip.contents(of: #require(zip["a/data.pkl"])) }?.contains("CRC-32 mismatch") == true)
    }

    @Test func refusesADeflatedEntryLongerThanItSays() throws {
        let image = TestZip.image([("a/data.pkl", [UInt8](repeating: 1, count: 100), true)], declaredSize: 10)
        let zip = try CheckpointZip(data: Data(image))
        #expect(problem { try zip.contents(of: #require(zip["a/data.pkl"])) }?.contains("past its declared 10 bytes") == true)
    }

    @Test func refusesOffsetsOutsideTheFile() throws {
        var image = TestZip.image([("a/data.pkl", Array("0123456789".utf8), false)])
        let end = image.count - 22
        image[end + 16] = 0xFF; image[end + 17] = 0xFF  // central directory offset
        #expect(problem { try CheckpointZip(data: Data(image)) }?.contains("lies outside the file") == true)

        image = TestZip.image([("a/data.pkl", Array("0123456789".utf8), false)])
        let central = image.count - 22 - 46 - "a/data.pkl".utf8.count
        image[central + 44] = 0x7F  // local header offset past the end
        #expect(problem { try CheckpointZip(data: Data(image)) }?.contains("beyond the file") == true)
        image[central + 44] = 0; image[central + 42] = 5  // inside the file, but no local header there
        let zip = try CheckpointZip(data: Data(image))
        #expect(problem { try zip.contents(of: #require(zip["a/data.pkl"])) }?.contains("no local header at byte 5") == true)

        #expect(problem { try CheckpointZip(data: Data(image.dropLast(30))) }?.contains("no end of central directory record") == true)
    }

    private func problem(_ body: () throws -> Any) -> String? {
        do { _ = try body() } catch let error as CheckpointProblem { return error.message } catch { return "\(error)" }
        return nil
    }
}

/// Zip images for tests: stored entries, or deflated ones as a single stored deflate block; with
/// `zip64Fields` the central directory keeps sizes and offsets only in zip64 extra fields.
enum TestZip {
    static func image(_ entries: [(name: String, body: [UInt8], deflate: Bool)], zip64Fields: Bool = false, declaredSize: Int? = nil) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int, _ into: inout [UInt8]) { for s in [0, 8, 16, 24] { into.append(UInt8(v >> s & 0xFF)) } }
        func u64(_ v: Int, _ into: inout [UInt8]) { u32(v & 0xFFFF_FFFF, &into); u32(v >> 32, &into) }
        for (name, body, deflate) in entries {
            let stored = deflate ? [0x01, UInt8(body.count & 0xFF), UInt8(body.count >> 8), UInt8(~body.count & 0xFF), UInt8(~body.count >> 8 & 0xFF)] + body : body
            let nameBytes = Array(name.utf8), crc = Int(crc32(body)), offset = out.count, size = declaredSize ?? body.count
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(deflate ? 8 : 0, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(stored.count, &out); u32(size, &out); u16(nameBytes.count, &out); u16(0, &out)
            out += nameBytes + stored
            var extra: [UInt8] = []
            if zip64Fields { u16(1, &extra); u16(24, &extra); u64(size, &extra); u64(stored.count, &extra); u64(offset, &extra) }
            u32(0x0201_4B50, &central); u16(45, &central); u16(45, &central); u16(0, &central); u16(deflate ? 8 : 0, &central)
            u16(0, &central); u16(0, &central); u32(crc, &central)
            u32(zip64Fields ? 0xFFFF_FFFF : stored.count, &central); u32(zip64Fields ? 0xFFFF_FFFF : size, &central)
            u16(nameBytes.count, &central); u16(extra.count, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(zip64Fields ? 0xFFFF_FFFF : offset, &central)
            central += nameBytes + extra
        }
        let centralOffset = out.count
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(central.count, &out); u32(centralOffset, &out); u16(0, &out)
        return out
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }
}
