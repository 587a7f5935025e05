import CTIFF
import UNetCore

extension TIFFSlide {
    /// One image directory of a TIFF file: a pyramid's levels are reduced-resolution pages of the same image.
    public struct Page: Sendable, Equatable {
        public let index: Int
        public let width: Int
        public let height: Int
        public let isReducedResolution: Bool
    }

    /// Every page of the file at `path` with its size (pyramid levels, label and macro images alike).
    public static func pages(path: String) throws(SlideError) -> [Page] {
        try checkMagic(path)
        let diagnostics = UnsafeMutablePointer<unet_tiff_diagnostics>.allocate(capacity: 1)
        defer { diagnostics.deallocate() }
        guard let handle = unet_tiff_open(path, Int64(SlideLimits().maximumSingleAllocation), diagnostics) else {
            throw SlideError(path: path, reason: "not a readable TIFF: \(message(diagnostics, fallback: "libtiff could not open the file"))")
        }
        defer { TIFFClose(handle) }
        var pages: [Page] = []
        for index in 0..<min(Int(TIFFNumberOfDirectories(handle)), 4096) {
            guard TIFFSetDirectory(handle, tdir_t(index)) == 1 else { continue }
            var width: UInt32 = 0, height: UInt32 = 0, subfileType: UInt32 = 0
            guard unet_tiff_get_uint32(handle, UInt32(TIFFTAG_IMAGEWIDTH), &width) == 1,
                  unet_tiff_get_uint32(handle, UInt32(TIFFTAG_IMAGELENGTH), &height) == 1, width > 0, height > 0 else { continue }
            _ = unet_tiff_get_uint32(handle, UInt32(TIFFTAG_SUBFILETYPE), &subfileType)
            pages.append(Page(index: index, width: Int(width), height: Int(height),
                              isReducedResolution: subfileType & UInt32(FILETYPE_REDUCEDIMAGE) != 0))
        }
        return pages
    }

    /// Pixels `[x, x + width) × [y, y + height)` of the page as RGB. Tiled pages decode only the tiles
    /// the region touches; striped pages, the strips.
    public func readRegion(x: Int, y: Int, width regionWidth: Int, height regionHeight: Int) throws(SlideError) -> RGBImage {
        guard x >= 0, y >= 0, regionWidth > 0, regionHeight > 0, x + regionWidth <= width, y + regionHeight <= height else {
            throw SlideError(path: path, reason: "region \(regionWidth)×\(regionHeight) at (\(x), \(y)) lies outside the \(width)×\(height) page")
        }
        if deepGray || x == 0 && regionWidth == width {  // the shim reads deep gray by rows only
            let rows = try readRows(y, count: regionHeight)
            return x == 0 && regionWidth == width ? rows : rows.region(x: x, y: 0, width: regionWidth, height: regionHeight)
        }
        var raster = [UInt32](repeating: 0, count: regionWidth * regionHeight)
        var reason = [CChar](repeating: 0, count: 1024)
        let errorsBefore = diagnostics.pointee.errors
        guard unet_tiff_read_region(handle, UInt32(x), UInt32(y), UInt32(regionWidth), UInt32(regionHeight), &raster, &reason) == 1,
              diagnostics.pointee.errors == errorsBefore else {
            throw decodingFailure(y..<(y + regionHeight), errorsBefore: errorsBefore, reason: reason)
        }
        var image = RGBImage(width: regionWidth, height: regionHeight)
        Self.copyRGB(of: raster, columns: regionWidth, rows: regionHeight, into: &image.pixels, width: regionWidth, left: 0, top: 0)
        return image
    }
}
