import Foundation
import TestSupport
import Testing
import SlideIO

@Suite struct PNGRowWriterTests {
    func temporaryDirectory() throws -> URL { try Fixtures.temporaryDirectory() }

    /// Writes `pixels` row by row as an RGB PNG at `path`, finished and published.
    static func writeRGB(_ pixels: [UInt8], width: Int, height: Int, to path: String) throws {
        let writer = try PNGRowWriter(path: path, width: width, height: height, channels: 3)
        for row in 0..<height {
            try pixels[(row * width * 3)..<((row + 1) * width * 3)].withUnsafeBufferPointer { try writer.write(row: $0) }
        }
        try writer.finish()
        try writer.publish()
    }

    @Test func rgbRowsRoundTrip() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("image.png").path
        let width = 37, height = 11
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let writer = try PNGRowWriter(path: path, width: width, height: height, channels: 3)
        for row in 0..<height {
            try pixels[(row * width * 3)..<((row + 1) * width * 3)].withUnsafeBufferPointer { try writer.write(row: $0) }
        }
        #expect(!FileManager.default.fileExists(atPath: path))  // nothing visible before publishing
        try writer.finish()
        try writer.publish()
        #expect(try PNGImage.readRGB(path) == RGBImage(width: width, height: height, pixels: pixels))
    }

    /// Noise does not compress, so 900 × 300 RGB pixels (810 KB) fill several of the writer's 256 KiB
    /// IDAT chunks: the zlib stream split across them must read back exactly (libpng checks the
    /// Adler-32 at its end and every chunk's CRC).
    @Test func aStreamOverSeveralIDATChunksRoundTrips() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("noise.png").path
        let width = 900, height = 300
        var generator = SystemRandomNumberGenerator()
        let pixels = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Self.writeRGB(pixels, width: width, height: height, to: path)
        #expect(try PNGImage.readRGB(path) == RGBImage(width: width, height: height, pixels: pixels))
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var chunks: [String] = [], offset = 8  // after the signature
        while offset + 8 <= file.count {
            let length = file[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            chunks.append(String(decoding: file[(offset + 4)..<(offset + 8)], as: UTF8.self))
            offset += 12 + length
        }
        #expect(chunks.first == "IHDR" && chunks.last == "IEND" && offset == file.count)
        #expect(chunks.filter { $0 == "IDAT" }.count >= 3, "chunks: \(chunks)")
    }

    /// Image rows are coded block by block with codes fitted to each block, and runs as matches: an
    /// overlay of tissue islands on white glass, over many blocks and at widths that are not a whole
    /// number of anything, must read back exactly, and the glass must cost next to nothing.
    @Test(arguments: [(1, 1), (1, 7), (5, 3), (1003, 450)])
    func imageRowsWithRunsAndNoiseRoundTrip(width: Int, height: Int) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("overlay.png").path
        var generator = SystemRandomNumberGenerator()
        let pixels = (0..<(width * height * 3)).map { index -> UInt8 in
            let (y, x) = (index / 3).quotientAndRemainder(dividingBy: width)
            let tissue = (x / 97 + y / 61) % 5 == 0
            return tissue ? UInt8.random(in: 60...230, using: &generator) : 242
        }
        try Self.writeRGB(pixels, width: width, height: height, to: path)
        #expect(try PNGImage.readRGB(path) == RGBImage(width: width, height: height, pixels: pixels))
        if width * height > 100_000 {
            let bytes = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(bytes < pixels.count / 3, "\(bytes) bytes for \(pixels.count) raw")  // a fifth is noise, the rest glass
        }
    }

    /// Deflate allows codes of at most 15 bits. Bytes whose differences (what the Sub filter stores)
    /// fall off geometrically, one value twice as common as the next, would get longer Huffman codes
    /// than that: the coder must shorten them and still read back exactly.
    @Test func skewedImageBytesStillTakeValidCodes() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("skewed.png").path
        let width = 1000, height = 300
        var generator = SystemRandomNumberGenerator()
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in 3..<pixels.count where index % (width * 3) >= 3 {
            let difference = UInt8(min(UInt64.random(in: 0...UInt64.max, using: &generator).trailingZeroBitCount, 40))
            pixels[index] = pixels[index - 3] &+ difference
        }
        try Self.writeRGB(pixels, width: width, height: height, to: path)
        #expect(try PNGImage.readRGB(path) == RGBImage(width: width, height: height, pixels: pixels))
    }

    /// Masks are stored unfiltered (runs stay runs for the deflater): they must read back exactly, and a mask of
    /// long runs must come out far smaller than its raw bytes.
    @Test func labelRowsRoundTripCompactly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("mask.png").path
        let width = 300, height = 200
        let pixels = (0..<(width * height)).map { index -> UInt8 in
            let (y, x) = index.quotientAndRemainder(dividingBy: width)
            return (x - 150) * (x - 150) + (y - 100) * (y - 100) < 60 * 60 ? 255 : 0
        }
        let writer = try PNGRowWriter(path: path, width: width, height: height, channels: 1, content: .labels)
        for row in 0..<height {
            try pixels[(row * width)..<((row + 1) * width)].withUnsafeBufferPointer { try writer.write(row: $0) }
        }
        try writer.finish()
        try writer.publish()
        #expect(try PNGImage.readGray(path).pixels == pixels)
        let bytes = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(bytes < width * height / 20)
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let writer = try PNGRowWriter(path: directory.appendingPathComponent("mask.png").path, width: 4, height: 4, channels: 1)
            try [UInt8](repeating: 255, count: 4).withUnsafeBufferPointer { try writer.write(row: $0) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func unreadablePNGNamesTheFile() {
        #expect(throws: SlideError.self) { try PNGImage.readGray("/nonexistent/truth.png") }
    }
}
