import Testing
import SlideIO
import UNetCore
@testable import Segmentation

@Suite struct StitchingTests {
    @Test(arguments: [(1360, 512, 32), (1024, 512, 32), (500, 256, 32), (300, 512, 32), (20000, 512, 64), (17, 16, 4)])
    func gridCoversTheAxisWithOverlap(length: Int, tile: Int, overlap: Int) {
        let (size, origins) = TileGrid.axis(length: length, maximumTile: tile, overlap: overlap, multiple: 16)
        #expect(size % 16 == 0 || origins.count > 1)
        #expect(size <= max(tile, (length + 15) / 16 * 16))
        #expect(origins.first == 0)
        if origins.count > 1 {
            #expect(origins.last! + size == length)
            for (a, b) in zip(origins, origins.dropFirst()) { #expect(a + size - b >= overlap) }
        } else {
            #expect(size >= length)
        }
    }

    @Test func balancedTilesKeepRecomputationSmall() {
        // 1360×1024 BreCaHAD field, 512 tiles, 32 overlap: 3×3 tiles of 480×368 (14% recomputed),
        // where 512×512 tiles would infer 69% more pixels than the field has.
        let grid = TileGrid(imageWidth: 1360, imageHeight: 1024, maximumTile: 512, overlap: 32)
        #expect(grid.tileCount == 9 && grid.tileWidth == 480 && grid.tileHeight == 368)
        #expect(Double(grid.tileCount * grid.tileWidth * grid.tileHeight) / (1360 * 1024) < 1.15)
    }

    @Test func blendingReproducesAFieldEveryTileAgreesOn() throws {
        // Every tile reports the same global field f(x, y): the stitched result must be f exactly,
        // every row emitted once, in order.
        let width = 70, height = 53
        let grid = TileGrid(imageWidth: width, imageHeight: height, maximumTile: 32, overlap: 8)
        func field(_ x: Int, _ y: Int) -> Float { Float(x * 3 + y * 7 % 11) / 300 }
        var stitcher = ProbabilityStitcher(grid: grid)
        var result = [Float](repeating: -1, count: width * height)
        var nextRow = 0
        let emit = { (first: Int, rows: Int, values: UnsafeBufferPointer<Float>) in
            #expect(first == nextRow)
            for i in 0..<(rows * width) { result[first * width + i] = values[i] }
            nextRow = first + rows
        }
        for y in grid.rowOrigins {
            stitcher.advance(to: y, emit: emit)
            for x in grid.columnOrigins {
                var tile = [Float](repeating: 0, count: grid.tileWidth * grid.tileHeight)
                for r in 0..<grid.tileHeight { for c in 0..<grid.tileWidth { tile[r * grid.tileWidth + c] = field(x + c, y + r) } }
                tile.withUnsafeBufferPointer { stitcher.add($0.baseAddress!, x: x, y: y, rows: grid.tileHeight, columns: grid.tileWidth) }
            }
        }
        stitcher.advance(to: height, emit: emit)
        #expect(nextRow == height)
        for y in 0..<height { for x in 0..<width { #expect(abs(result[y * width + x] - field(x, y)) < 1e-5) } }
    }

    @Test func gaussianWeightsPeakInTheCentreAndStayPositive() {
        let weights = BlendingWeights.gaussian(width: 64, height: 64)
        #expect(weights.min()! >= 1e-3)
        #expect(weights.max()! <= 1)
        #expect(weights[32 * 64 + 32] > weights[0])
    }

    @Test func reflectionMatchesPyTorch() {
        // torch.nn.functional.pad(..., mode='reflect') on [0, 1, 2, 3]: index -2 → 2, 5 → 1.
        #expect([-2, -1, 0, 3, 4, 5].map { TileInput.reflect($0, 4) } == [2, 1, 0, 3, 2, 1])
    }

    /// Both of `fill`'s loops (a tile inside the band, and one reaching past its edges that reflects)
    /// against the formula, in BGR order with a mean and std, rows filled in two calls as the workers do.
    @Test(arguments: [(2, 0, 8, 4), (-3, 2, 8, 6), (6, 1, 8, 7)])
    func tileInputFollowsThePreprocessingFormula(tile: (x: Int, y: Int, width: Int, height: Int)) {
        let pixels: [UInt8] = (0..<216).map { (index: Int) -> UInt8 in UInt8((index * 37 + 11) % 256) }
        let band = RGBImage(width: 12, height: 6, pixels: pixels)
        let preprocessing = Preprocessing(channelOrder: .bgr, scale: 1.0 / 255.0, mean: [0.5, 0.25, 0.125], std: [0.2, 0.3, 0.4])
        let (x, y, width, height) = tile
        var input = [Float](repeating: .nan, count: 3 * width * height)
        input.withUnsafeMutableBufferPointer { input in
            let filler = TileInput(preprocessing: preprocessing)
            filler.fill(input.baseAddress!, width: width, height: height, from: band, x: x, y: y, rows: 0..<(height / 2))
            filler.fill(input.baseAddress!, width: width, height: height, from: band, x: x, y: y, rows: (height / 2)..<height)
        }
        for channel in 0..<3 {
            for row in 0..<height {
                for column in 0..<width {
                    let sourceX = TileInput.reflect(x + column, band.width), sourceY = TileInput.reflect(y + row, band.height)
                    let sourceIndex: Int = (sourceY * band.width + sourceX) * 3 + (2 - channel)
                    let pixel = Float(band.pixels[sourceIndex])
                    let mean: Float = preprocessing.mean![channel], std: Float = preprocessing.std![channel]
                    let expected: Float = (pixel / 255 - mean) / std
                    let actual: Float = input[(channel * height + row) * width + column]
                    #expect(abs(actual - expected) < 1e-5)
                }
            }
        }
    }

    @Test func diceFollowsTheReferenceFormula() {
        var counts = ConfusionCounts()
        for (p, t) in [(true, true), (true, false), (false, true), (false, false)] { counts.add(predicted: p, truth: t) }
        #expect(abs(counts.dice - (2 + 1e-6) / (4 + 1e-6)) < 1e-12)
        #expect(abs(counts.iou - (1 + 1e-6) / (3 + 1e-6)) < 1e-12)
        #expect(counts.accuracy == 0.5)
        #expect(ConfusionCounts().dice == 1)
    }
}
