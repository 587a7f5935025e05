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
    /// The transformed weights `U_ξ = G g Gᵀ`, ξ = 0..<36, in one layout only (they are 4× the filters).
    private let weights: TransformedWeights
    private let bias: [Float]

    /// Worth it wherever the GEMMs have enough channels to run efficiently; beside a bf16-pair direct
    /// kernel (`vdpbf16ps`, twice the fp32 rate), with bf16 products too, only from `minimumChannelsBesideBF16`.
    static func isWorthwhile(for conv: Conv2D, directKernel: DirectConv3x3.Kernel?) -> Bool {
        let minimum = directKernel?.takesBF16Pairs == true ? minimumChannelsBesideBF16 : minimumChannels
        return conv.kernelSize == 3 && conv.inputChannels >= minimum && conv.outputChannels >= minimum
    }

    /// Measured per layer on 2-core AMD EPYC with AVX2 (BENCHMARKS.md): F(4×4) wins from 16 channels
    /// (width 16, 256² tile: 41.9 → 32.8 ms against the direct kernel and shifted rows below 64 channels).
    static let minimumChannels = 16
    /// Measured against the native bf16 direct kernel on Zen 4 (BENCHMARKS.md, session 23).
    static let minimumChannelsBesideBF16 = 64
    /// Scratch floats per worker for a band's transformed inputs and products: 1 MiB, so they stay in L2
    /// between the transform, the GEMMs and the inverse transform (width 16, 256² tile: 36.3 → 28.0 ms
    /// against 4 MiB; 512²: 115.8 → 110.6 ms).
    static let bandBudget = 1 << 18

    private enum TransformedWeights {
        /// `U[ξ][out][in]`, for OpenBLAS (the portable path).
        case rowMajor([Float])
        /// `U_ξ` packed for the own GEMM (`unet_strip_gemm`), 36 blocks of `floatsPerPoint` (the AVX2 path).
        case packed([Float], floatsPerPoint: Int)
        /// `U_ξ` rounded to bf16 pairs for `unet_strip_gemm_bf16`, 36 blocks of `wordsPerPoint`: the bf16
        /// layers beside a bf16-pair direct kernel, `native` with `vdpbf16ps`, else its portable emulation.
        case bf16Pairs([UInt32], wordsPerPoint: Int, native: Bool)
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
    init(_ conv: Conv2D, vectorised: Bool, bf16Products: Bool = false) {
        precondition(conv.kernelSize == 3)
        inputChannels = conv.inputChannels
        outputChannels = conv.outputChannels
        self.vectorised = vectorised
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
            weights = Self.pairedForBF16(u, outputChannels: cout, inputChannels: cin, native: vectorised)
            return
        }
        guard vectorised else {
            weights = .rowMajor(u)
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
        weights = .packed(packed, floatsPerPoint: floatsPerPoint)
    }

    private static func pairedForBF16(_ u: [Float], outputChannels cout: Int, inputChannels cin: Int, native: Bool) -> TransformedWeights {
        let wordsPerPoint = Int(unet_strip_gemm_bf16_packed_words(Int64(cout), Int64(cin)))
        var packed = [UInt32](repeating: 0, count: points * wordsPerPoint)
        u.withUnsafeBufferPointer { u in
            packed.withUnsafeMutableBufferPointer { packed in
                for xi in 0..<points {
                    unet_strip_gemm_bf16_pack(u.baseAddress! + xi * cout * cin, Int64(cout), Int64(cin), packed.baseAddress! + xi * wordsPerPoint)
                }
            }
        }
        return .bf16Pairs(packed, wordsPerPoint: wordsPerPoint, native: native)
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
        if case .rowMajor = weights { return tiles }
        return (tiles + Self.stripTiles - 1) / Self.stripTiles * Self.stripTiles
    }

    /// Words the bf16 GEMM pairs each strip of transformed inputs into.
    private var pairScratchCount: Int {
        guard case .bf16Pairs = weights else { return 0 }
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

    /// Scratch floats per worker for a layer of this size: one band's transformed inputs and products,
    /// the transforms' row buffers, and the bf16 GEMM's paired strips.
    func scratchCount(height: Int, width: Int) -> Int {
        let tilesPerRow = (width + 3) / 4
        let tiles = storedTiles(bandTileRows(height: height, tilesPerRow: tilesPerRow) * tilesPerRow)
        return Self.points * ((inputChannels + outputChannels) * tiles + 2 * Self.matrixPadding) + Int(unet_winograd4_scratch_floats(Int64(width)))
            + pairScratchCount
    }

    /// Rows of tiles per band: the scratch budget's, but no more than leaves `ParallelBands.minimumBands` bands.
    private func bandTileRows(height: Int, tilesPerRow: Int) -> Int {
        max(1, min(tilesPerBand(tilesPerRow: tilesPerRow) / tilesPerRow, ParallelBands.largestBand((height + 3) / 4)))
    }

    /// With `bf16BatchNorm`, each output is rounded, normalised and rounded again by the output transform,
    /// as `BFloat16.roundThroughBatchNorm` would do in a pass of its own.
    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                 scratch: UnsafeMutablePointer<Float>, scratchPerWorker: Int, parallel: ParallelBands,
                 bf16BatchNorm: (scale: [Float], shift: [Float])? = nil) {
        let normScale = bf16BatchNorm?.scale ?? [], normShift = bf16BatchNorm?.shift ?? []
        let tilesPerRow = (width + 3) / 4, tileRows = (height + 3) / 4, points = Self.points
        let bandTileRows = bandTileRows(height: height, tilesPerRow: tilesPerRow)
        let vectorised: Int32 = vectorised ? 1 : 0
        parallel.forEach(count: tileRows, chunk: bandTileRows) { worker, band in
            let tiles = band.count * tilesPerRow, stored = storedTiles(tiles)
            // V[ξ] then M[ξ], ξ = 0..<36, each `matrixPadding` floats apart, then the transforms' rows.
            let inputStride = inputChannels * stored + Self.matrixPadding, outputStride = outputChannels * stored + Self.matrixPadding
            let transformed = scratch + worker * scratchPerWorker
            let products = transformed + points * inputStride
            let rowScratch = products + points * outputStride
            let first = Int64(band.lowerBound), end = Int64(band.upperBound)
            switch weights {
            case .packed(let packed, let floatsPerPoint):
                unet_winograd4_input(vectorised, input, Int64(inputChannels), Int64(height), Int64(width), first, end,
                                     Int64(Self.stripTiles), transformed, Int64(inputStride), rowScratch)
                packed.withUnsafeBufferPointer { packed in
                    for xi in 0..<points {
                        let ran = unet_strip_gemm(packed.baseAddress! + xi * floatsPerPoint, Int64(outputChannels), Int64(inputChannels),
                                                  transformed + xi * inputStride, Int64(stored / Self.stripTiles),
                                                  products + xi * outputStride, Int64(stored))
                        precondition(ran == 1, "the strip GEMM is built only for x86-64, where the AVX2 path runs")
                    }
                }
            case .bf16Pairs(let packed, let wordsPerPoint, let native):
                unet_winograd4_input(vectorised, input, Int64(inputChannels), Int64(height), Int64(width), first, end,
                                     Int64(Self.stripTiles), transformed, Int64(inputStride), rowScratch)
                let pairs = UnsafeMutablePointer<UInt32>(OpaquePointer(rowScratch + Int(unet_winograd4_scratch_floats(Int64(width)))))
                packed.withUnsafeBufferPointer { packed in
                    for xi in 0..<points {
                        unet_strip_gemm_bf16(native ? 1 : 0, packed.baseAddress! + xi * wordsPerPoint, Int64(outputChannels),
                                             Int64(inputChannels), transformed + xi * inputStride, Int64(stored / Self.stripTiles),
                                             products + xi * outputStride, Int64(stored), pairs)
                    }
                }
            case .rowMajor(let u):
                unet_winograd4_input(vectorised, input, Int64(inputChannels), Int64(height), Int64(width), first, end,
                                     0, transformed, Int64(inputStride), rowScratch)
                u.withUnsafeBufferPointer { u in
                    for xi in 0..<points {
                        BLAS.gemm(m: outputChannels, n: tiles, k: inputChannels,
                                  a: u.baseAddress! + xi * outputChannels * inputChannels, lda: inputChannels,
                                  b: transformed + xi * inputStride, ldb: tiles,
                                  c: products + xi * outputStride, ldc: tiles)
                    }
                }
            }
            bias.withUnsafeBufferPointer { b in
                normScale.withUnsafeBufferPointer { scale in
                    normShift.withUnsafeBufferPointer { shift in
                        unet_winograd4_output(vectorised, products, Int64(outputChannels), Int64(stored), Int64(height), Int64(width),
                                              first, end, Int64(outputStride), b.baseAddress!, relu ? 1 : 0,
                                              bf16BatchNorm == nil ? nil : scale.baseAddress, bf16BatchNorm == nil ? nil : shift.baseAddress,
                                              output, rowScratch)
                    }
                }
            }
        }
    }
}
