import CTIFF
import Foundation
import UNetCore

/// A one-channel 8-bit image (a mask) as a tiled, LZW-compressed, pyramidal TIFF, fed row by row:
/// what QuPath, ASAP and OpenSlide open as a multi-level image. Level 0 is the full size; each further
/// level is half the previous one (rounded up, each pixel the maximum of its 2×2 block, so small objects
/// stay visible when zoomed out) until the longest side is at most `smallestSide`. Every level after the
/// first is marked reduced-resolution (NewSubfileType 1), which is how OpenSlide tells levels from
/// other pages. Only one row of tiles per level is held in memory.
///
/// Level 0 streams into a temporary file beside `path`; each smaller level into its own temporary file,
/// whose compressed tiles `finish()` copies into the first as further directories. As with
/// `PNGRowWriter`, nothing is visible under `path` before `publish()`, and a writer dropped before
/// publishing removes its temporary files.
public final class PyramidTIFFWriter {
    public let path: String
    public let width: Int
    public let height: Int
    public let tileSide: Int
    /// Size of every level, level 0 first.
    public let levelSizes: [(width: Int, height: Int)]
    private let temporaryPath: String
    private let levels: [Level]
    private var rowsWritten = 0
    private var finished = false
    private var published = false

    /// - Parameters:
    ///   - micronsPerPixel: level 0's scale, written as X/YResolution in pixels per centimetre; nil writes none.
    ///   - tileSide: tile width and height, a multiple of 16 up to 1,024.
    ///   - description: level 0's ImageDescription (what produced it; tests write Aperio and OME headers).
    public init(path: String, width: Int, height: Int, micronsPerPixel: (x: Double, y: Double)? = nil,
                tileSide: Int = 256, smallestSide: Int = 1024, description: String? = nil) throws(SlideError) {
        precondition(width > 0 && height > 0 && tileSide % 16 == 0 && (16...1024).contains(tileSide))
        self.path = path
        self.width = width
        self.height = height
        self.tileSide = tileSide
        var sizes = [(width: width, height: height)]
        while max(sizes.last!.width, sizes.last!.height) > smallestSide {
            sizes.append(((sizes.last!.width + 1) / 2, (sizes.last!.height + 1) / 2))
        }
        levelSizes = sizes
        temporaryPath = AtomicFile.temporaryPath(for: path)
        // Past 2^31 pixels the classic format's 32-bit offsets could run out, even compressed.
        let big = width * height > 1 << 31
        var levels: [Level] = []
        for (index, size) in sizes.enumerated() {
            let file = index == 0 ? temporaryPath : AtomicFile.temporaryPath(for: path + ".level\(index)")
            let scale = micronsPerPixel.map { ($0.x * Double(width) / Double(size.width), $0.y * Double(height) / Double(size.height)) }
            levels.append(try Level(file: file, outputPath: path, width: size.width, height: size.height, tileSide: tileSide,
                                    reduced: index > 0, micronsPerPixel: scale, big: big, description: index == 0 ? description : nil))
        }
        self.levels = levels
    }

    deinit {
        for level in levels { level.close() }
        if !published { unlink(temporaryPath) }
        for level in levels.dropFirst() { unlink(level.file) }
    }

    /// Appends the next level-0 row (`width` bytes).
    public func write(row: UnsafeBufferPointer<UInt8>) throws(SlideError) {
        precondition(row.count >= width && rowsWritten < height)
        try push(row, level: 0)
        rowsWritten += 1
    }

    /// Writes the last tiles, gathers every level into one file and makes it durable (still under its temporary name).
    public func finish() throws(SlideError) {
        precondition(rowsWritten == height, "TIFF \(path): \(rowsWritten) of \(height) rows written")
        for index in levels.indices {
            try levels[index].flushTiles()
            if let half = levels[index].takePendingHalfRow() {
                try half.withUnsafeBufferPointer { (half) throws(SlideError) in try push(half, level: index + 1) }
            }
        }
        let main = levels[0]
        try main.endDirectory()
        for level in levels.dropFirst() { try main.appendDirectory(copyingTilesOf: level) }
        try main.sync()
        finished = true
    }

    /// Renames the finished file into place (the caller fsyncs the directory once for all outputs).
    public func publish() throws(SlideError) {
        precondition(finished, "publish() before finish()")
        try TemporaryOutput.publish(temporaryPath, to: path)
        published = true
    }

    private func push(_ row: UnsafeBufferPointer<UInt8>, level index: Int) throws(SlideError) {
        guard index < levels.count else { return }
        if let half = try levels[index].add(row: row) {
            try half.withUnsafeBufferPointer { (half) throws(SlideError) in try push(half, level: index + 1) }
        }
    }
}

extension PyramidTIFFWriter {
    /// One level: its TIFF directory, the row of tiles being filled, and the half-size row it owes the next level.
    fileprivate final class Level {
        let file: String
        let outputPath: String
        let width: Int, height: Int, tileSide: Int
        private var tiff: OpaquePointer?
        private let diagnostics: UnsafeMutablePointer<unet_tiff_diagnostics> = {
            let diagnostics = UnsafeMutablePointer<unet_tiff_diagnostics>.allocate(capacity: 1)
            diagnostics.initialize(to: unet_tiff_diagnostics())
            return diagnostics
        }()
        private var band: [UInt8]
        private var bandRows = 0, bandTop = 0
        private var tile: [UInt8]
        /// Row-pair maximum for the next level: the even row's horizontal maxima, waiting for the odd row.
        private var halfRow: [UInt8]?

        init(file: String, outputPath: String, width: Int, height: Int, tileSide: Int, reduced: Bool,
             micronsPerPixel: (Double, Double)?, big: Bool, description: String?) throws(SlideError) {
            self.file = file
            self.outputPath = outputPath
            self.width = width
            self.height = height
            self.tileSide = tileSide
            band = [UInt8](repeating: 0, count: width * tileSide)
            tile = [UInt8](repeating: 0, count: tileSide * tileSide)
            let fd = try TemporaryOutput.create(file, for: outputPath, readable: true)
            guard let tiff = unet_tiff_create(fd, file, big ? 1 : 0, diagnostics) else {
                Glibc.close(fd)
                unlink(file)
                throw failure("starting")
            }
            self.tiff = tiff
            try describe(tiff, reduced: reduced, micronsPerPixel: micronsPerPixel)
            if let description, unet_tiff_set_string(tiff, UInt32(TIFFTAG_IMAGEDESCRIPTION), description) != 1 { throw failure("setting the description") }
        }

        deinit {
            close()
            diagnostics.deallocate()
        }

        func close() {
            if let tiff { TIFFClose(tiff) }
            tiff = nil
        }

        /// Tags of one level's directory (the same for the copy made into the main file).
        func describe(_ tiff: OpaquePointer, reduced: Bool, micronsPerPixel: (Double, Double)?) throws(SlideError) {
            let fields: [(UInt32, UInt32)] = [(UInt32(TIFFTAG_SUBFILETYPE), reduced ? UInt32(FILETYPE_REDUCEDIMAGE) : 0),
                                              (UInt32(TIFFTAG_IMAGEWIDTH), UInt32(width)), (UInt32(TIFFTAG_IMAGELENGTH), UInt32(height)),
                                              (UInt32(TIFFTAG_TILEWIDTH), UInt32(tileSide)), (UInt32(TIFFTAG_TILELENGTH), UInt32(tileSide))]
            let shortFields: [(UInt32, UInt16)] = [(UInt32(TIFFTAG_BITSPERSAMPLE), 8), (UInt32(TIFFTAG_SAMPLESPERPIXEL), 1),
                                                   (UInt32(TIFFTAG_PHOTOMETRIC), UInt16(PHOTOMETRIC_MINISBLACK)),
                                                   (UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG)),
                                                   (UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_LZW))]
            var ok = fields.allSatisfy { unet_tiff_set_uint32(tiff, $0.0, $0.1) == 1 }
                && shortFields.allSatisfy { unet_tiff_set_uint16(tiff, $0.0, $0.1) == 1 }
            if let (x, y) = micronsPerPixel {
                ok = ok && unet_tiff_set_uint16(tiff, UInt32(TIFFTAG_RESOLUTIONUNIT), UInt16(RESUNIT_CENTIMETER)) == 1
                    && unet_tiff_set_float(tiff, UInt32(TIFFTAG_XRESOLUTION), Float(10_000 / x)) == 1
                    && unet_tiff_set_float(tiff, UInt32(TIFFTAG_YRESOLUTION), Float(10_000 / y)) == 1
            }
            ok = ok && unet_tiff_set_string(tiff, UInt32(TIFFTAG_SOFTWARE), "unetd") == 1
            guard ok else { throw failure("setting tags") }
        }

        /// Adds the next row; returns a row of the next level when this one completes a pair.
        func add(row: UnsafeBufferPointer<UInt8>) throws(SlideError) -> [UInt8]? {
            band.withUnsafeMutableBufferPointer { band in
                (band.baseAddress! + bandRows * width).update(from: row.baseAddress!, count: width)
            }
            bandRows += 1
            if bandRows == tileSide { try flushTiles() }
            let halfWidth = (width + 1) / 2
            var half = [UInt8](repeating: 0, count: halfWidth)
            for x in 0..<halfWidth { half[x] = max(row[2 * x], row[min(2 * x + 1, width - 1)]) }
            if let even = halfRow {
                halfRow = nil
                for x in 0..<halfWidth { half[x] = max(half[x], even[x]) }
                return half
            }
            halfRow = half
            return nil
        }

        /// The half row of an odd last row, once all rows are in.
        func takePendingHalfRow() -> [UInt8]? {
            defer { halfRow = nil }
            return halfRow
        }

        /// Encodes the filled rows as one row of tiles (the last one padded with zeros).
        func flushTiles() throws(SlideError) {
            guard bandRows > 0, let tiff else { return }
            for tileX in stride(from: 0, to: width, by: tileSide) {
                let columns = min(tileSide, width - tileX)
                tile.withUnsafeMutableBufferPointer { tile in
                    band.withUnsafeBufferPointer { band in
                        tile.update(repeating: 0)
                        for row in 0..<bandRows {
                            (tile.baseAddress! + row * tileSide).update(from: band.baseAddress! + row * width + tileX, count: columns)
                        }
                    }
                }
                let index = TIFFComputeTile(tiff, UInt32(tileX), UInt32(bandTop), 0, 0)
                let written = tile.withUnsafeMutableBytes { TIFFWriteEncodedTile(tiff, index, $0.baseAddress, tmsize_t($0.count)) }
                guard written >= 0 else { throw failure("writing tile at (\(tileX), \(bandTop))") }
            }
            bandTop += bandRows
            bandRows = 0
        }

        func endDirectory() throws(SlideError) {
            guard let tiff, TIFFWriteDirectory(tiff) == 1 else { throw failure("writing directory") }
        }

        /// Closes `level`'s own file, then writes its tags and its compressed tiles, unchanged, as the next directory here.
        func appendDirectory(copyingTilesOf level: Level) throws(SlideError) {
            try level.endDirectory()
            level.close()
            guard let tiff else { throw failure("appending a level") }
            guard let source = unet_tiff_open(level.file, 0, level.diagnostics) else { throw level.failure("reopening") }
            defer { TIFFClose(source) }
            try level.describe(tiff, reduced: true, micronsPerPixel: Self.resolution(of: source))
            var buffer = [UInt8]()
            for index in 0..<TIFFNumberOfTiles(source) {
                let size = Int(TIFFGetStrileByteCount(source, index))
                guard size > 0 else { throw level.failure("reading tile \(index)") }
                if buffer.count < size { buffer = [UInt8](repeating: 0, count: size) }
                let read = buffer.withUnsafeMutableBytes { TIFFReadRawTile(source, index, $0.baseAddress, tmsize_t(size)) }
                guard read == size else { throw level.failure("reading tile \(index)") }
                let written = buffer.withUnsafeMutableBytes { TIFFWriteRawTile(tiff, index, $0.baseAddress, tmsize_t(size)) }
                guard written == size else { throw failure("copying tile \(index) of a level") }
            }
            try endDirectory()
            unlink(level.file)
        }

        private static func resolution(of source: OpaquePointer) -> (Double, Double)? {
            var x: Float = 0, y: Float = 0
            guard unet_tiff_get_float(source, UInt32(TIFFTAG_XRESOLUTION), &x) == 1,
                  unet_tiff_get_float(source, UInt32(TIFFTAG_YRESOLUTION), &y) == 1, x > 0, y > 0 else { return nil }
            return (10_000 / Double(x), 10_000 / Double(y))
        }

        /// Flushes libtiff's buffers and fsyncs; ENOSPC and EIO of delayed writes surface here.
        func sync() throws(SlideError) {
            guard let tiff, TIFFFlush(tiff) == 1 else { throw failure("flushing") }
            guard fsync(TIFFFileno(tiff)) == 0 else {
                let code = errno
                throw SlideError(path: outputPath, reason: "TIFF fsync failed: \(String(cString: strerror(code)))", errorNumber: code)
            }
            close()
        }

        func failure(_ stage: String) -> SlideError {
            let message = TIFFSlide.message(diagnostics, fallback: "")
            let code = diagnostics.pointee.error_number
            let cause = code == 0 ? "" : " (\(String(cString: strerror(code))))"
            return SlideError(path: outputPath, reason: "TIFF \(stage) failed: \(message.isEmpty ? "libtiff error" : message)\(cause)",
                              errorNumber: code == 0 ? nil : code)
        }
    }
}
