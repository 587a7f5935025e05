import CKernels

/// A 3×3, stride-1, pad-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray, 2016):
/// each 4×4 block of outputs costs 36 multiplies per channel pair instead of 144, as 36 GEMMs
/// `M_ξ = U_ξ · V_ξ` between transformed weights and transformed 6×6 input tiles. The transforms are
/// the engine's own (`CKernels/winograd4.inc`), and so are the GEMMs on the AVX2 path
/// (`CKernels/strip_gemm.c`); the portable path calls OpenBLAS. Inference only; built from
/// the folded `Conv2D`, it gives the same result to float rounding (tested ≤ 1e-4).
struct WinogradConv3x3: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// Whether the transforms run their AVX2 instantiation (else portable code).
    let vectorised: Bool
    /// Whether the fp32 strip GEMM may use AVX-512 (the `avx512` and `avx512bf16` paths).
    let avx512: Bool
    /// The transformed weights `U_ξ = G g Gᵀ`, ξ = 0..<36, in one layout only (they are 4× the filters).
    /// How `U` is laid out, and `U` itself: floats (`rowMajor`, `packed`) or bf16 pairs. The buffers are
    /// fields of their own, not payloads of `layout`: see `DoubleConv.ConvolutionKernel` for why.
    private let layout: WeightLayout
    private let floatWeights: [Float]
    private let pairWeights: [UInt32]
    private let bias: [Float]

    /// Worth it wherever the GEMMs have enough channels to run efficiently; beside a bf16-pair direct
    /// kernel (`vdpbf16ps`, twice the fp32 rate), with bf16 products too, only from `minimumChannelsBesideBF16`.
    static func isWorthwhile(for conv: Conv2D, directKernel: DirectConv3x3.Kernel?) -> Bool {
        let minimum = directKernel?.takesBF16Pairs == true ? minimumChannelsBesideBF16 : minimumChannels
        return conv.kernelSize == 3 && conv.inputChannels >= minimum && conv.outputChannels >= minimum
    }

    /// Measured per layer on 2-core AMD EPYC with AVX2 (BENCHMARKS.md): F(4×4) wins from 16 channels
    /// (width 16, 256² tile: 41.9 → 32.8 ms against the direct kernel and shifted rows below 64 channels);
    /// on Zen 4 with AVX-512 it beat the fp32 direct kernel and shifted rows on every layer too (session 23).
    static let minimumChannels = 16
    /// Measured against the native bf16 direct kernel on Zen 4 (BENCHMARKS.md, session 23).
    static let minimumChannelsBesideBF16 = 64
    /// Scratch floats per worker for a band's transformed inputs and products: 1 MiB, so they stay in L2
    /// between the transform, the GEMMs and the inverse transform (width 16, 256² tile: 36.3 → 28.0 ms
    /// against 4 MiB; 512²: 115.8 → 110.6 ms).
    static let bandBudget = 1 << 18

    private enum WeightLayout {
        /// `U[ξ][out][in]`, for OpenBLAS (the portable path).
        case rowMajor
        /// `U_ξ` packed for the own GEMM (`unet_strip_gemm`), 36 blocks of `floatsPerPoint` (the AVX2 path).
        case packed(floatsPerPoint: Int)
        /// `U_ξ` rounded to bf16 pairs for `unet_strip_gemm_bf16`, 36 blocks of `wordsPerPoint`: the bf16
        /// layers beside a bf16-pair direct kernel, `native` with `vdpbf16ps`, else its portable emulation.
        case bf16Pairs(wordsPerPoint: Int, native: Bool)
    }

    /// Points per tile (α² = 6²): one GEMM each.
    private static let points = 36

    /// G (6×3) of F(4×4, 3×3) on the points 0, ±1, ±2, ∞; applied to the filters once, in double precision.
    private static let filterTransform: [[Double]] = [
        [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
        [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
    ]

    /// `bf16Products`: the 36 products on bf16 pairs with fp32 sums (the transformed inputs and weights
    /// rounded to bf16), natively where `vectorised`.
    init(_ conv: Conv2D, vectorised: Bool, avx512: Bool = false, bf16Products: Bool = false) {
        precondition(conv.kernelSize == 3)
        inputChannels = conv.inputChannels
        outputChannels = conv.outputChannels
        self.vectorised = vectorised
        self.avx512 = avx512 && vectorised
        bias = conv.bias
        let cin = conv.inputChannels, cout = conv.outputChannels, g = Self.filterTransform
        var u = [Float](repeating: 0, count: Self.points * cout * cin)
        var left = [Double](repeating: 0, count: 18)  // G · filter, 6×3
        for o in 0..<cout {
            for i in 0..<cin {
                let filter = (o * cin + i) * 9
                for r in 0..<6 {
                    for c in 0..<3 {
                        left[r * 3 + c] = g[r][0] * Double(conv.weight[filter + c]) + g[r][1] * Double(conv.weight[filter + 3 + c])
                            + g[r][2] * Double(conv.weight[filter + 6 + c])
                    }
                }
                for r in 0..<6 {
                    for c in 0..<6 {
                        let value = left[r * 3] * g[c][0] + left[r * 3 + 1] * g[c][1] + left[r * 3 + 2] * g[c][2]
                        u[((r * 6 + c) * cout + o) * cin + i] = Float(value)
                    }
                }
            }
        }
        if bf16Products {
            (layout, pairWeights) = Self.pairedForBF16(u, outputChannels: cout, inputChannels: cin, native: vectorised)
            floatWeights = []
            return
        }
        pairWeights = []
        guard vectorised else {
            (layout, floatWeights) = (.rowMajor, u)
            return
        }
        let floatsPerPoint = Int(unet_strip_gemm_packed_floats(Int64(cout), Int64(cin)))
        var packed = [Float](repeating: 0, count: Self.points * floatsPerPoint)
        u.withUnsafeBufferPointer { u in
            packed.withUnsafeMutableBufferPointer { packed in
                for xi in 0..<Self.points {
                    unet_strip_gemm_pack(u.baseAddress! + xi * cout * cin, Int64(cout), Int64(cin), packed.baseAddress! + xi * floatsPerPoint)
                }
            }
        }
        (layout, floatWeights) = (.packed(floatsPerPoint: floatsPerPoint), packed)
    }

    private static func pairedForBF16(_ u: [Float], outputChannels cout: Int, inputChannels cin: Int, native: Bool) -> (WeightLayout, [UInt32]) {
        let wordsPerPoint = Int(unet_strip_gemm_bf16_packed_words(Int64(cout), Int64(cin)))
        var packed = [UInt32](repeating: 0, count: points * wordsPerPoint)
        u.withUnsafeBufferPointer { u in
            packed.withUnsafeMutableBufferPointer { packed in
                for xi in 0..<points {
                    unet_strip_gemm_bf16_pack(u.baseAddress! + xi * cout * cin, Int64(cout), Int64(cin), packed.baseAddress! + xi * wordsPerPoint)
                }
            }
        }
        return (.bf16Pairs(wordsPerPoint: wordsPerPoint, native: native), packed)
    }

    /// Tiles per strip of the transformed inputs on the AVX2 path: the own GEMM's columns. The transform
    /// writes each 16-tile strip's channels contiguously, so the GEMM streams a strip from L1 whatever
    /// the channel count, where OpenBLAS would first pack it. Against OpenBLAS (and the earlier own GEMM
    /// on the plain layout up to 32 channels), width 64 on 256² tiles: 0.307 → 0.240 s (BENCHMARKS.md).
    static let stripTiles = Int(UNET_STRIP_GEMM_COLUMNS)
    /// Floats between consecutive transformed matrices beyond their size: the transforms write 36
    /// streams one matrix apart, which without this map to the same L1 sets whenever a matrix is a
    /// multiple of 4 KiB. 32 (128 bytes) measured best; 16 slowed the wide layers.
    static let matrixPadding = 32

    /// Tiles of a band rounded up to whole strips for the own GEMMs (OpenBLAS's keep them as they are).
    private func storedTiles(_ tiles: Int) -> Int {
        if case .rowMajor = layout { return tiles }
        return (tiles + Self.stripTiles - 1) / Self.stripTiles * Self.stripTiles
    }

    /// Words the bf16 GEMM pairs each strip of transformed inputs into.
    private var pairScratchCount: Int {
        guard case .bf16Pairs = layout else { return 0 }
        return Int(unet_strip_gemm_bf16_scratch_words(Int64(inputChannels)))
    }

    /// Tiles (4×4 output blocks) per band so that one band's scratch fits `bandBudget`.
    func tilesPerBand(tilesPerRow: Int) -> Int {
        let perTile = Self.points * (inputChannels + outputChannels)
        let rows = max(1, max(Self.bandBudget / perTile, Self.minimumBandTiles) / tilesPerRow)
        return rows * tilesPerRow
    }

    /// At least this many tiles per band (four strips), so a wide layer's GEMMs are not cut into slivers
    /// that pass over all its weights for a few tiles. Was 256 while OpenBLAS repacked the weights for
    /// every product; with them packed once, 64 keeps the full-resolution layers' bands in L2 (width 64,
    /// 256² tile: 185 → 168 ms).
    static let minimumBandTiles = 64

    /// Layers of at most this many tiles (16×16 and smaller) run as one band, their 36 products and then
    /// their output channels shared among the workers: cut into bands, each band's strip would be mostly
    /// padding (width 64, 256² tile: the 16×16 layers ran at half the others' rate).
    static let oneBandTiles = 2 * stripTiles

    /// Scratch floats per worker for a layer of this size: one band's transformed inputs and products,
    /// the transforms' row buffers, and the bf16 GEMM's paired strips.
    func scratchCount(height: Int, width: Int) -> Int {
        let tilesPerRow = (width + 3) / 4, tileRows = (height + 3) / 4
        let rows = tileRows * tilesPerRow <= Self.oneBandTiles ? tileRows : bandTileRows(height: height, tilesPerRow: tilesPerRow)
        return Band(rows: 0..<rows, tilesPerRow: tilesPerRow, stored: storedTiles(rows * tilesPerRow), layer: self, base: nil).matrixFloats
            + Int(unet_winograd4_scratch_floats(Int64(width))) + pairScratchCount
    }

    /// Rows of tiles per band: the scratch budget's, but no more than leaves `ParallelBands.minimumBands` bands.
    private func bandTileRows(height: Int, tilesPerRow: Int) -> Int {
        max(1, min(tilesPerBand(tilesPerRow: tilesPerRow) / tilesPerRow, ParallelBands.largestBand((height + 3) / 4)))
    }

    /// One band of tile rows, and where its transformed inputs V[ξ] and products M[ξ] (ξ = 0..<36, each
    /// `matrixPadding` floats apart) lie in scratch; a worker's row buffers follow them in its own share.
    private struct Band {
        let rows: Range<Int>
        let tiles: Int, stored: Int
        let inputStride: Int, outputStride: Int
        let transformed: UnsafeMutablePointer<Float>?

        init(rows: Range<Int>, tilesPerRow: Int, stored: Int, layer: WinogradConv3x3, base: UnsafeMutablePointer<Float>?) {
            (self.rows, tiles, self.stored) = (rows, rows.count * tilesPerRow, stored)
            inputStride = layer.inputChannels * stored + matrixPadding
            outputStride = layer.outputChannels * stored + matrixPadding
            transformed = base
        }

        var products: UnsafeMutablePointer<Float> { transformed! + points * inputStride }
        var matrixFloats: Int { points * (inputStride + outputStride) }
    }

    /// With `bf16BatchNorm`, each output is rounded, normalised and rounded again by the output transform,
    /// as `BFloat16.roundThroughBatchNorm` would do in a pass of its own.
    /// With `pooled`, the output's 2×2 max pooling (`MaxPool2x2`, ⌊height/2⌋ × ⌊width/2⌋ per channel) is
    /// written there too, bit for bit as that pass would, from each tile's rows while they are in cache.
    /// `finishedRows` is called, on the worker that wrote them, with each range of output rows as soon as
    /// every channel of them is final (a band's rows; a layer run as one band: every row, split among the workers).
    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                 scratch: UnsafeMutablePointer<Float>, scratchPerWorker: Int, parallel: ParallelBands,
                 bf16BatchNorm: (scale: [Float], shift: [Float])? = nil, pooled: UnsafeMutablePointer<Float>? = nil,
                 finishedRows: ((Range<Int>) -> Void)? = nil) {
        let tilesPerRow = (width + 3) / 4, tileRows = (height + 3) / 4
        let rowBuffers = Int(unet_winograd4_scratch_floats(Int64(width)))
        // A worker's row buffers for the transforms, then its bf16 GEMM's paired strips, after the band's matrices.
        func buffers(_ worker: Int, after band: Band) -> (rows: UnsafeMutablePointer<Float>, pairs: UnsafeMutablePointer<UInt32>) {
            let rows = scratch + worker * scratchPerWorker + band.matrixFloats
            return (rows, UnsafeMutablePointer<UInt32>(OpaquePointer(rows + rowBuffers)))
        }
        guard tileRows * tilesPerRow > Self.oneBandTiles else {
            let band = Band(rows: 0..<tileRows, tilesPerRow: tilesPerRow, stored: storedTiles(tileRows * tilesPerRow), layer: self, base: scratch)
            transformInput(input, height: height, width: width, band: band, rowBuffer: buffers(0, after: band).rows)
            parallel.split(count: Self.points) { worker, points in multiply(band, points: points, pairs: buffers(worker, after: band).pairs) }
            parallel.split(count: outputChannels) { worker, channels in
                transformOutput(band, channels: channels, height: height, width: width, relu: relu, bf16BatchNorm: bf16BatchNorm,
                                output: output, pooled: pooled, rowBuffer: buffers(worker, after: band).rows)
            }
            if let finishedRows { parallel.split(count: height) { _, rows in finishedRows(rows) } }
            return
        }
        parallel.forEach(count: tileRows, chunk: bandTileRows(height: height, tilesPerRow: tilesPerRow)) { worker, rows in
            let band = Band(rows: rows, tilesPerRow: tilesPerRow, stored: storedTiles(rows.count * tilesPerRow), layer: self,
                            base: scratch + worker * scratchPerWorker)
            let (rowBuffer, pairs) = buffers(worker, after: band)
            transformInput(input, height: height, width: width, band: band, rowBuffer: rowBuffer)
            multiply(band, points: 0..<Self.points, pairs: pairs)
            transformOutput(band, channels: 0..<outputChannels, height: height, width: width, relu: relu, bf16BatchNorm: bf16BatchNorm,
                            output: output, pooled: pooled, rowBuffer: rowBuffer)
            finishedRows?(4 * rows.lowerBound..<min(4 * rows.upperBound, height))
        }
    }

    /// V[ξ] of the band's tiles: in strips for the own GEMMs, else plain for OpenBLAS.
    private func transformInput(_ input: UnsafePointer<Float>, height: Int, width: Int, band: Band, rowBuffer: UnsafeMutablePointer<Float>) {
        let strip: Int64
        if case .rowMajor = layout { strip = 0 } else { strip = Int64(Self.stripTiles) }
        unet_winograd4_input(vectorised ? 1 : 0, input, Int64(inputChannels), Int64(height), Int64(width), Int64(band.rows.lowerBound),
                             Int64(band.rows.upperBound), strip, band.transformed!, Int64(band.inputStride), rowBuffer)
    }

    /// M[ξ] = U[ξ] · V[ξ] for the points `points`.
    private func multiply(_ band: Band, points: Range<Int>, pairs: UnsafeMutablePointer<UInt32>) {
        let v = band.transformed!, m = band.products, strips = Int64(band.stored / Self.stripTiles)
        switch layout {
        case .packed(let floatsPerPoint):
            floatWeights.withUnsafeBufferPointer { packed in
                for xi in points {
                    let ran = unet_strip_gemm(avx512 ? 1 : 0, packed.baseAddress! + xi * floatsPerPoint, Int64(outputChannels), Int64(inputChannels),
                                              v + xi * band.inputStride, strips, m + xi * band.outputStride, Int64(band.stored))
                    precondition(ran == 1, "the strip GEMM is built only for x86-64, where the AVX2 path runs")
                }
            }
        case .bf16Pairs(let wordsPerPoint, let native):
            pairWeights.withUnsafeBufferPointer { packed in
                for xi in points {
                    unet_strip_gemm_bf16(native ? 1 : 0, packed.baseAddress! + xi * wordsPerPoint, Int64(outputChannels),
                                         Int64(inputChannels), v + xi * band.inputStride, strips, m + xi * band.outputStride,
                                         Int64(band.stored), pairs)
                }
            }
        case .rowMajor:
            floatWeights.withUnsafeBufferPointer { u in
                for xi in points {
                    BLAS.gemm(m: outputChannels, n: band.tiles, k: inputChannels,
                              a: u.baseAddress! + xi * outputChannels * inputChannels, lda: inputChannels,
                              b: v + xi * band.inputStride, ldb: band.tiles, c: m + xi * band.outputStride, ldc: band.tiles)
                }
            }
        }
    }

    /// Output channels `channels` of the band's rows from M[ξ], with bias and ReLU or the bf16 BatchNorm
    /// (and their pooling, with `pooled`).
    private func transformOutput(_ band: Band, channels: Range<Int>, height: Int, width: Int, relu: Bool,
                                 bf16BatchNorm: (scale: [Float], shift: [Float])?, output: UnsafeMutablePointer<Float>,
                                 pooled: UnsafeMutablePointer<Float>?, rowBuffer: UnsafeMutablePointer<Float>) {
        let first = channels.lowerBound, normScale = bf16BatchNorm?.scale ?? [], normShift = bf16BatchNorm?.shift ?? []
        let pooledChannels = pooled.map { $0 + first * (height / 2) * (width / 2) }
        bias.withUnsafeBufferPointer { b in
            normScale.withUnsafeBufferPointer { scale in
                normShift.withUnsafeBufferPointer { shift in
                    unet_winograd4_output(vectorised ? 1 : 0, band.products + first * band.stored, Int64(channels.count), Int64(band.stored),
                                          Int64(height), Int64(width), Int64(band.rows.lowerBound), Int64(band.rows.upperBound),
                                          Int64(band.outputStride), b.baseAddress! + first, relu ? 1 : 0,
                                          bf16BatchNorm == nil ? nil : scale.baseAddress! + first,
                                          bf16BatchNorm == nil ? nil : shift.baseAddress! + first,
                                          output + first * height * width, pooledChannels, rowBuffer)
                }
            }
        }
    }
}
