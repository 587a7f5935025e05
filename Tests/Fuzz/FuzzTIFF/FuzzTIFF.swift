// libFuzzer harness: SlideIO.TIFFSlide over arbitrary bytes (scripts/fuzz.sh tiff).
// The input is written to a per-process file in /dev/shm (TIFFSlide reads paths), opened with
// small limits so huge declared images are refused, and a few bands of rows are decoded.
import Foundation
import SlideIO

private let inputPath: String = {
    let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(directory)/unet-fuzz-tiff-\(getpid()).tif"
}()

/// Small enough that a decoded band stays far below libFuzzer's RSS limit.
private let limits = SlideLimits(maximumPixels: 4 << 20, maximumSingleAllocation: 64 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: inputPath, contents: Data(bytes: data, count: size)) else {
        fatalError("cannot write \(inputPath)")
    }
    guard let slide = try? TIFFSlide(path: inputPath, limits: limits) else { return 0 }
    // First band, a middle band and the last row: strip/tile boundaries and the end of the image.
    let bandHeight = min(slide.height, 16)
    var bands = [(0, bandHeight)]
    if slide.height > 2 * bandHeight { bands.append((slide.height / 2, bandHeight)) }
    if slide.height > bandHeight { bands.append((slide.height - 1, 1)) }
    for (y, count) in bands where slide.width * count <= 1 << 22 {
        guard let image = try? slide.readRows(y, count: count) else { break }
        precondition(image.width == slide.width && image.height == count && image.pixels.count == slide.width * count * 3)
    }
    return 0
}
