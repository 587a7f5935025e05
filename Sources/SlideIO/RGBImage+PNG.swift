extension RGBImage {
    /// Writes the image as an 8-bit RGB PNG, published atomically (nothing at `path` on failure).
    public func writePNG(to path: String) throws(SlideError) {
        let writer = try PNGRowWriter(path: path, width: width, height: height, channels: 3)
        for y in 0..<height {
            try pixels[(y * width * 3)..<((y + 1) * width * 3)].withUnsafeBufferPointer { (row) throws(SlideError) in try writer.write(row: row) }
        }
        try writer.finish()
        try writer.publish()
    }
}
