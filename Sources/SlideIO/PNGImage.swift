import CPNG

/// Whole-image PNG reading (ground-truth masks, training images), through libpng's simplified API.
public enum PNGImage {
    /// Reads `path` as 8-bit gray; returns width, height and one byte per pixel.
    public static func readGray(_ path: String, maximumPixels: Int = 1 << 30) throws(SlideError) -> (width: Int, height: Int, pixels: [UInt8]) {
        try read(path, channels: 1, maximumPixels: maximumPixels)
    }

    /// Reads `path` as 8-bit RGB.
    public static func readRGB(_ path: String, maximumPixels: Int = 1 << 30) throws(SlideError) -> RGBImage {
        let (width, height, pixels) = try read(path, channels: 3, maximumPixels: maximumPixels)
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Reads a gray instance map (8- or 16-bit; 0 background, one id per object) exactly as stored.
    public static func readLabels(_ path: String, maximumPixels: Int = 1 << 30) throws(SlideError) -> (width: Int, height: Int, labels: [UInt16]) {
        var buffer: UnsafeMutablePointer<UInt16>?
        var width: UInt32 = 0, height: UInt32 = 0
        var error = [CChar](repeating: 0, count: 256)
        guard unet_png_read_labels(path, &buffer, &width, &height, UInt64(maximumPixels), &error) == 1, let buffer else {
            throw SlideError(path: path, reason: "cannot read instance map: \(String(cString: error))")
        }
        defer { unet_png_free_labels(buffer) }
        return (Int(width), Int(height), Array(UnsafeBufferPointer(start: buffer, count: Int(width) * Int(height))))
    }

    /// Encodes `pixels` (`channels` 1 gray, 3 RGB or 4 RGBA, 8-bit, rows top to bottom) as PNG bytes
    /// in memory: small images served over HTTP. `name` says what it is, for the error.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int, channels: Int, name: String) throws(SlideError) -> [UInt8] {
        precondition([1, 3, 4].contains(channels) && pixels.count == width * height * channels, "pixels do not match the size")
        var buffer: UnsafeMutablePointer<UInt8>?
        var size = 0
        var error = [CChar](repeating: 0, count: 256)
        guard unet_png_encode(pixels, UInt32(width), UInt32(height), Int32(channels), &buffer, &size, &error) == 1, let buffer else {
            throw SlideError(path: name, reason: "cannot encode PNG: \(String(cString: error))")
        }
        defer { unet_png_free(buffer) }
        return Array(UnsafeBufferPointer(start: buffer, count: size))
    }

    private static func read(_ path: String, channels: Int, maximumPixels: Int) throws(SlideError) -> (width: Int, height: Int, pixels: [UInt8]) {
        var buffer: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0
        var error = [CChar](repeating: 0, count: 256)
        guard unet_png_read(path, Int32(channels), &buffer, &width, &height, UInt64(maximumPixels), &error) == 1, let buffer else {
            throw SlideError(path: path, reason: "cannot read PNG: \(String(cString: error))")
        }
        defer { unet_png_free(buffer) }
        let count = Int(width) * Int(height) * channels
        return (Int(width), Int(height), Array(UnsafeBufferPointer(start: buffer, count: count)))
    }
}
