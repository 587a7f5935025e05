import SlideIO

/// The slide rows most recently decoded, so rows the stitcher finishes can be drawn in the overlay
/// without decoding them again (at input scale 1 they always lie in the last band read).
struct SlideBand {
    let slide: TIFFSlide
    private var firstRow = 0
    private var image: RGBImage?
    /// A band decoded ahead (`prefetch`), taken over by the `load` that asks for exactly it.
    private var ahead: (firstRow: Int, image: RGBImage)?

    init(slide: TIFFSlide) { self.slide = slide }

    /// Network-resolution rows `[y, y + count)`: the slide's own rows at scale 1, resampled otherwise.
    mutating func networkRows(_ y: Int, count: Int, scale: Double, networkWidth: Int) throws(SlideError) -> RGBImage {
        if scale == 1 { return try load(y, count: count) }
        let source = BilinearResize.sourceRows(firstRow: y, rows: count, scale: scale, sourceHeight: slide.height)
        let band = try load(source.lowerBound, count: source.count)
        return BilinearResize.resize(band, rowOrigin: source.lowerBound, sourceHeight: slide.height, scale: scale,
                                     width: networkWidth, firstRow: y, rows: count)
    }

    /// Slide rows `[y, y + count)` at full width, interleaved RGB: a view of the cached band when it holds them.
    mutating func rows(_ y: Int, count: Int) throws(SlideError) -> ArraySlice<UInt8> {
        if let image, y >= firstRow, y + count <= firstRow + image.height {
            let bytes = image.width * 3
            return image.pixels[((y - firstRow) * bytes)..<((y - firstRow + count) * bytes)]
        }
        return try load(y, count: count).pixels[...]
    }

    /// Decodes the band `[y, y + count)` now, for a later `networkRows` or `rows` to take: the segmenter
    /// calls this on its encoder thread while the engine infers the current row of tiles.
    mutating func prefetch(_ y: Int, count: Int) throws(SlideError) {
        ahead = (y, try slide.readRows(y, count: count))
    }

    /// The band `[y, y + count)`, decoded unless it is the one cached or decoded ahead.
    private mutating func load(_ y: Int, count: Int) throws(SlideError) -> RGBImage {
        if let image, y == firstRow, count == image.height { return image }
        if let ahead, ahead.firstRow == y, ahead.image.height == count {
            (image, firstRow, self.ahead) = (ahead.image, y, nil)
            return ahead.image
        }
        image = nil  // free the old band before decoding the new one
        let band = try slide.readRows(y, count: count)
        image = band
        firstRow = y
        return band
    }
}
