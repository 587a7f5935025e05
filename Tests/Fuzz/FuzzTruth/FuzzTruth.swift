// libFuzzer harness: Segmentation.GroundTruth's readers (scripts/fuzz.sh truth).
// The first input byte picks the format: even → the rest is SLIDE.json (BreCaHAD points), odd → the
// rest is SLIDE.truth.png (a mask; its chunk CRCs are recomputed so mutations reach libpng's decoder).
// GroundTruth.locate finds it beside a fake slide of a fixed size, and every row is then filled.
import Foundation
import Segmentation
import SlideIO

private let directory: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(base)/unet-fuzz-truth-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()
private let slidePath = directory + "/slide.tif"
private let jsonPath = directory + "/slide.json"
private let pngPath = directory + "/slide.truth.png"

/// The fake slide's size: the seed masks are 64×48.
private let width = 64, height = 48
private let options = GroundTruthOptions(classes: ["tumor", "mitosis"], radius: 5)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let isPNG = data[0] & 1 == 1
    if isPNG { fixPNGChunkCRCs(&body) }
    try? FileManager.default.removeItem(atPath: isPNG ? jsonPath : pngPath)
    guard FileManager.default.createFile(atPath: isPNG ? pngPath : jsonPath, contents: Data(body)) else {
        fatalError("cannot write into \(directory)")
    }
    guard let truth = try? GroundTruth.locate(for: slidePath, width: width, height: height, options: options) else { return 0 }
    var row = [Bool](repeating: false, count: width)
    row.withUnsafeMutableBufferPointer { buffer in
        for y in 0..<height { truth.fill(row: y, into: buffer) }
    }
    return 0
}

private let crcTable: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// Rewrites the CRC of every complete chunk after the PNG signature.
private func fixPNGChunkCRCs(_ png: inout [UInt8]) {
    var at = 8
    while at + 12 <= png.count {
        let length = Int(png[at]) << 24 | Int(png[at + 1]) << 16 | Int(png[at + 2]) << 8 | Int(png[at + 3])
        guard length <= png.count - at - 12 else { return }
        var c: UInt32 = 0xFFFF_FFFF
        for b in png[(at + 4)..<(at + 8 + length)] { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        c ^= 0xFFFF_FFFF
        for k in 0..<4 { png[at + 8 + length + k] = UInt8(c >> UInt32(24 - 8 * k) & 0xFF) }
        at += 12 + length
    }
}
