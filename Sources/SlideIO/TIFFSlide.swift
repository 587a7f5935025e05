import CTIFF
import Foundation
import UNetCore

/// A TIFF slide opened for region reads: striped or tiled, 8/16-bit, RGB/RGBA/gray/palette/YCbCr JPEG,
/// separate planes, BigTIFF, any codec the system libtiff has. Multi-page and pyramidal files are read
/// at their largest full-resolution page. Regions are decoded strip by strip or tile by tile, never
/// the whole raster at once. Not thread-safe.
public final class TIFFSlide {
    public let path: String
    public let width: Int
    public let height: Int
    /// Index of the page (directory) being read, and how many the file has.
    public let page: Int
    public let pageCount: Int
    /// µm per pixel as the file declares it (Aperio, OME-XML, or plausible resolution tags), else nil.
    public let physicalScale: PhysicalScale?
    /// Whether the page is marked reduced-resolution (NewSubfileType bit 0), and its tile size when tiled.
    public let isReducedResolution: Bool
    public let tileSize: (width: Int, height: Int)?

    let handle: OpaquePointer
    let diagnostics: UnsafeMutablePointer<unet_tiff_diagnostics>

    /// Deep (12/16-bit) grayscale pages are decoded by the shim, everything else by TIFFRGBAImage.
    let deepGray: Bool
    /// How a band of rows is decoded, so that libtiff's 32-bit raster never spans the whole band: tiled
    /// 8-bit contiguous pages one tile column at a time, everything else (strips are full width, and
    /// libtiff 4.5 misplaces column offsets of separate-plane and 16-bit tiles) a few rows at a time.
    private let chunkColumns: Int, chunkRows: Int
    /// How tiled 8-bit contiguous pages are read: a whole row of tiles at a time, the last one kept
    /// (`TIFFSlide+TileRows.swift`); nil for other pages, and where a row of tiles exceeds the budget.
    let tileRows: TileRowDecoding?
    var lastTileRow: (index: Int, pixels: [UInt8])?
    var tileBuffer: [UInt8] = []

    /// Opens the largest full-resolution page, or `page` when given (pyramid levels, tests).
    public convenience init(path: String, limits: SlideLimits = SlideLimits(), page requestedPage: Int? = nil) throws(SlideError) {
        try self.init(path: path, limits: limits, page: requestedPage, tileRowBudget: TileRowDecoding.budget)
    }

    /// `tileRowBudget`: the largest row of tiles kept between reads (0: none, tiles read region by region).
    init(path: String, limits: SlideLimits, page requestedPage: Int?, tileRowBudget: Int) throws(SlideError) {
        self.path = path
        try Self.checkMagic(path)
        let diagnostics = UnsafeMutablePointer<unet_tiff_diagnostics>.allocate(capacity: 1)
        guard let handle = unet_tiff_open(path, Int64(limits.maximumSingleAllocation), diagnostics) else {
            let reason = Self.message(diagnostics, fallback: "libtiff could not open the file")
            diagnostics.deallocate()
            throw SlideError(path: path, reason: "not a readable TIFF: \(reason)")
        }
        do {
            (page, pageCount, width, height, deepGray) = try Self.selectPage(handle, diagnostics, path: path, limits: limits, page: requestedPage)
            var subfileType: UInt32 = 0, tileWidth: UInt32 = 0, tileHeight: UInt32 = 0
            _ = unet_tiff_get_uint32(handle, UInt32(TIFFTAG_SUBFILETYPE), &subfileType)
            isReducedResolution = subfileType & UInt32(FILETYPE_REDUCEDIMAGE) != 0
            let tiled = unet_tiff_get_uint32(handle, UInt32(TIFFTAG_TILEWIDTH), &tileWidth) == 1
                && unet_tiff_get_uint32(handle, UInt32(TIFFTAG_TILELENGTH), &tileHeight) == 1
            tileSize = tiled ? (Int(tileWidth), Int(tileHeight)) : nil
            var bits: UInt16 = 0, planar: UInt16 = 0, rowsPerStrip: UInt32 = 0
            let contiguous8Bit = unet_tiff_get_uint16(handle, UInt32(TIFFTAG_BITSPERSAMPLE), &bits) == 1 && bits == 8
                && (unet_tiff_get_uint16(handle, UInt32(TIFFTAG_PLANARCONFIG), &planar) == 0 || planar == UInt16(PLANARCONFIG_CONTIG))
            if tiled && contiguous8Bit && tileWidth > 0 && tileWidth < width {
                (chunkColumns, chunkRows) = (Int(tileWidth), Int.max)
            } else if tiled {
                (chunkColumns, chunkRows) = (Int(width), max(1, Int(tileHeight)))
            } else {
                // Whole strips, about a megapixel per call; one strip for the whole page: one call.
                let strip = unet_tiff_get_uint32(handle, UInt32(TIFFTAG_ROWSPERSTRIP), &rowsPerStrip) == 1 && rowsPerStrip > 0
                    ? min(Int(rowsPerStrip), Int(height)) : Int(height)
                let rows = max(strip, (1 << 20) / Int(width))
                (chunkColumns, chunkRows) = (Int(width), strip >= Int(height) ? Int.max : (rows + strip - 1) / strip * strip)
            }
            physicalScale = Self.physicalScale(handle, page: page)
            // Last: reading other pages' tags above resets the JPEG colour mode it may set.
            tileRows = !deepGray && tiled && contiguous8Bit
                ? TileRowDecoding(handle, width: width, tileWidth: Int(tileWidth), tileHeight: Int(tileHeight), budget: tileRowBudget) : nil
        } catch {
            TIFFClose(handle)
            diagnostics.deallocate()
            throw error
        }
        self.handle = handle
        self.diagnostics = diagnostics
    }

    /// Picks the page to read, checks its size against the limits and that it can be decoded.
    private static func selectPage(_ handle: OpaquePointer, _ diagnostics: UnsafeMutablePointer<unet_tiff_diagnostics>,
                                   path: String, limits: SlideLimits, page requested: Int?) throws(SlideError) -> (Int, Int, Int, Int, Bool) {
        var (page, count) = try largestFullResolutionPage(handle, path: path)
        if let requested {
            guard (0..<count).contains(requested) else { throw SlideError(path: path, reason: "no page \(requested) (the file has \(count))") }
            page = requested
        }
        guard TIFFSetDirectory(handle, tdir_t(page)) == 1 else {
            throw SlideError(path: path, reason: "cannot select page \(page): \(message(diagnostics, fallback: "unknown error"))")
        }
        var width: UInt32 = 0, height: UInt32 = 0
        guard unet_tiff_get_uint32(handle, UInt32(TIFFTAG_IMAGEWIDTH), &width) == 1,
              unet_tiff_get_uint32(handle, UInt32(TIFFTAG_IMAGELENGTH), &height) == 1, width > 0, height > 0 else {
            throw SlideError(path: path, reason: "page \(page) has no image width or length")
        }
        guard Int(width) * Int(height) <= limits.maximumPixels else {
            throw SlideError(path: path, reason: "\(width)×\(height) pixels exceeds the limit of \(limits.maximumPixels) pixels")
        }
        let deepGray = unet_tiff_is_deep_gray(handle) == 1
        var reason = [CChar](repeating: 0, count: 1024)
        guard deepGray || unet_tiff_rgba_ok(handle, &reason) == 1 else {
            throw SlideError(path: path, reason: "unsupported TIFF: \(String(cString: reason))")
        }
        return (page, count, Int(width), Int(height), deepGray)
    }

    deinit {
        TIFFClose(handle)
        diagnostics.deallocate()
    }

    /// Copies `rows × columns` pixels of a TIFFRGBAImage raster (ABGR packed) into interleaved RGB
    /// `width` pixels wide, from column `left` of row `top`.
    static func copyRGB(of raster: [UInt32], columns: Int, rows: Int, into pixels: inout [UInt8], width: Int, left: Int, top: Int) {
        pixels.withUnsafeMutableBufferPointer { rgb in
            for row in 0..<rows {
                let destination = ((top + row) * width + left) * 3, source = row * columns
                for x in 0..<columns {
                    let abgr = raster[source + x]
                    rgb[destination + 3 * x] = UInt8(truncatingIfNeeded: abgr)
                    rgb[destination + 3 * x + 1] = UInt8(truncatingIfNeeded: abgr >> 8)
                    rgb[destination + 3 * x + 2] = UInt8(truncatingIfNeeded: abgr >> 16)
                }
            }
        }
    }

    /// Why rows could not be decoded: libtiff's first error since `errorsBefore`, else the shim's `reason`.
    func decodingFailure(_ rows: Range<Int>, errorsBefore: Int32, reason: [CChar]) -> SlideError {
        let detail = diagnostics.pointee.errors > errorsBefore ? Self.message(diagnostics, fallback: "") : String(cString: reason)
        return SlideError(path: path, reason: "cannot decode rows \(rows.lowerBound)..<\(rows.upperBound): \(detail)")
    }

    /// Decodes full-width rows `[y, y + count)` as RGB, in chunks (see `chunkColumns`), so the only
    /// band-sized buffer is the 3-byte-per-pixel result.
    public func readRows(_ y: Int, count: Int) throws(SlideError) -> RGBImage {
        precondition(y >= 0 && count > 0 && y + count <= height, "rows outside the slide")
        if let tileRows { return try readRows(y, count: count, by: tileRows) }
        var reason = [CChar](repeating: 0, count: 1024)
        let errorsBefore = diagnostics.pointee.errors
        func failure() -> SlideError { decodingFailure(y..<(y + count), errorsBefore: errorsBefore, reason: reason) }
        if deepGray {
            var gray = [UInt8](repeating: 0, count: width * count)
            guard unet_tiff_read_deep_gray_rows(handle, UInt32(y), UInt32(count), &gray, &reason) == 1,
                  diagnostics.pointee.errors == errorsBefore else { throw failure() }
            return RGBImage(width: width, height: count, pixels: gray.flatMap { [$0, $0, $0] })
        }
        var image = RGBImage(width: width, height: count)
        var raster = [UInt32](repeating: 0, count: min(chunkColumns, width) * min(chunkRows, count))
        for top in stride(from: y, to: y + count, by: min(chunkRows, count)) {
            let rows = min(chunkRows, y + count - top)
            for left in stride(from: 0, to: width, by: chunkColumns) {
                let columns = min(chunkColumns, width - left)
                let ok = unet_tiff_read_region(handle, UInt32(left), UInt32(top), UInt32(columns), UInt32(rows), &raster, &reason)
                guard ok == 1, diagnostics.pointee.errors == errorsBefore else { throw failure() }
                Self.copyRGB(of: raster, columns: columns, rows: rows, into: &image.pixels, width: width, left: left, top: top - y)
            }
        }
        return image
    }

    /// The whole page as RGB (for small fields and tests; large slides are read by region).
    public func readAll() throws(SlideError) -> RGBImage { try readRows(0, count: height) }

    // MARK: opening

    /// Refuses files that are not TIFF by their first bytes, and says what they are instead when it can.
    static func checkMagic(_ path: String) throws(SlideError) {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw SlideError(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot open for reading" : "no such file")
        }
        defer { try? file.close() }
        let head = [UInt8]((try? file.read(upToCount: 8)) ?? Data())
        let tiffMagics: [[UInt8]] = [[0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A], [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B]]
        if tiffMagics.contains(where: { head.starts(with: $0) }) { return }
        let known: [([UInt8], String)] = [
            ([0x89, 0x50, 0x4E, 0x47], "a PNG image"), ([0xFF, 0xD8, 0xFF], "a JPEG image"),
            ([0x50, 0x4B, 0x03, 0x04], "a zip archive"), ([0x25, 0x50, 0x44, 0x46], "a PDF document"),
            ([0x47, 0x49, 0x46, 0x38], "a GIF image"),
        ]
        let what = head.isEmpty ? "an empty file" : known.first { head.starts(with: $0.0) }?.1 ?? "not a TIFF file"
        throw SlideError(path: path, reason: "\(what) (no TIFF signature), refused")
    }

    private static func largestFullResolutionPage(_ handle: OpaquePointer, path: String) throws(SlideError) -> (page: Int, count: Int) {
        let count = Int(TIFFNumberOfDirectories(handle))
        guard count > 0 else { throw SlideError(path: path, reason: "TIFF without any image directory") }
        var best: (page: Int, area: Int, reduced: Bool)?
        for page in 0..<min(count, 4096) {
            guard TIFFSetDirectory(handle, tdir_t(page)) == 1 else { continue }
            var width: UInt32 = 0, height: UInt32 = 0, subfileType: UInt32 = 0
            guard unet_tiff_get_uint32(handle, UInt32(TIFFTAG_IMAGEWIDTH), &width) == 1,
                  unet_tiff_get_uint32(handle, UInt32(TIFFTAG_IMAGELENGTH), &height) == 1 else { continue }
            _ = unet_tiff_get_uint32(handle, UInt32(TIFFTAG_SUBFILETYPE), &subfileType)
            let reduced = subfileType & UInt32(FILETYPE_REDUCEDIMAGE) != 0
            let area = Int(width) * Int(height)
            // Prefer full-resolution pages; among equals, the larger.
            if best == nil || (best!.reduced && !reduced) || (best!.reduced == reduced && area > best!.area) {
                best = (page, area, reduced)
            }
        }
        guard let best else { throw SlideError(path: path, reason: "no page with an image width and length") }
        return (best.page, count)
    }

    /// The selected page's declared scale; Aperio and OME keep their description on page 0, so that is
    /// asked too. Leaves the selected page current.
    private static func physicalScale(_ handle: OpaquePointer, page: Int) -> PhysicalScale? {
        defer { TIFFSetDirectory(handle, tdir_t(page)) }
        for candidate in page == 0 ? [0] : [page, 0] {
            guard TIFFSetDirectory(handle, tdir_t(candidate)) == 1 else { continue }
            var text: UnsafePointer<CChar>?
            let description = unet_tiff_get_string(handle, UInt32(TIFFTAG_IMAGEDESCRIPTION), &text) == 1 ? text.map { String(cString: $0) } : nil
            var x: Float = 0, y: Float = 0, unit: UInt16 = 0
            let hasX = unet_tiff_get_float(handle, UInt32(TIFFTAG_XRESOLUTION), &x) == 1
            let hasY = unet_tiff_get_float(handle, UInt32(TIFFTAG_YRESOLUTION), &y) == 1
            let hasUnit = unet_tiff_get_uint16(handle, UInt32(TIFFTAG_RESOLUTIONUNIT), &unit) == 1
            if let scale = PhysicalScale.read(description: description, xResolution: hasX ? Double(x) : nil, yResolution: hasY ? Double(y) : nil,
                                              resolutionUnit: hasUnit ? Int(unit) : 2) {
                return scale
            }
        }
        return nil
    }

    static func message(_ diagnostics: UnsafeMutablePointer<unet_tiff_diagnostics>, fallback: String) -> String {
        let text = withUnsafeBytes(of: diagnostics.pointee.first_error) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? fallback : text
    }
}
