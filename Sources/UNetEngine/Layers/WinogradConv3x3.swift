import CKernels

/// A 3×3, stride-1, pad-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray, 2016):
/// each 4×4 block of outputs costs 36 multiplies per channel pair instead of 144, as 36 GEMMs
/// `M_ξ = U_ξ · V_ξ` between transformed weights and transformed 6×6 input tiles. The transforms are
/// the engine's own (`CKernels/winograd4.inc`); the GEMMs are OpenBLAS's. Inference only; built from
/// the folded `Conv2D`, it gives the same result to float rounding (tested ≤ 1e-4).
struct WinogradConv3x3: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    /// Whether the transforms run their AVX2 instantiation (else portable code).
    let vectorised: Bool
    /// `U[ξ][out][in]`, ξ = 0..<36: `G g Gᵀ` for every filter.
    private let transformedWeights: [Float]
    /// `U_ξ` packed for the engine's own small GEMM (`unet_small_gemm`, 36 blocks of `packedFloats`),
    /// on the AVX2 path where the layer is small enough for it to beat OpenBLAS; else nil.
    private let packedWeights: [Float]?
    private let packedFloats: Int
    private let bias: [Float]

    /// Worth it wherever the GEMMs have enough channels to run efficiently; with the native bf16 direct
    /// kernel (`vdpbf16ps`, twice the fp32 rate), only from `minimumChannelsBesideBF16`.
    static func isWorthwhile(for conv: Conv2D, directKernel: DirectConv3x3.Kernel?) -> Bool {
        let minimum = directKernel?.takesBF16Pairs == true ? minimumChannelsBesideBF16 : minimumChannels
        return conv.kernelSize == 3 && conv.inputChannels >= minimum && conv.outputChannels >= minimum
    }

    /// Measured per layer on 2-core AMD EPYC with AVX2 (BENCHMARKS.md): F(4×4) wins from 16 channels
    /// (width 16, 256² tile: 41.9 → 32.8 ms against the direct kernel and shifted rows below 64 channels).
    static let minimumChannels = 16
    /// Where the F(2×2) Winograd kernel this replaced began; the native bf16 kernel is unmeasured against F(4×4).
    static let minimumChannelsBesideBF16 = 64
    /// Scratch floats per worker for a band's transformed inputs and products: 1 MiB, so they stay in L2
    /// between the transform, the GEMMs and the inverse transform (width 16, 256² tile: 36.3 → 28.0 ms
    /// against 4 MiB; 512²: 115.8 → 110.6 ms).
    static let bandBudget = 1 << 18
    /// Points per tile (α² = 6²): one GEMM each.
    private static let points = 36

    /// G (6×3) of F(4×4, 3×3) on the points 0, ±1, ±2, ∞; applied to the filters once, in double precision.
    private static let filterTransform: [[Double]] = [
        [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
        [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
    ]

    init(_ conv: Conv2D, vectorised: Bool) {
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
        transformedWeights = u
        let packedFloats = Int(unet_small_gemm_packed_floats(Int64(cout), Int64(cin)))
        self.packedFloats = packedFloats
        if vectorised && Self.ownGEMMWins(outputChannels: cout, inputChannels: cin) {
            var packed = [Float](repeating: 0, count: Self.points * packedFloats)
            u.withUnsafeBufferPointer { u in
                packed.withUnsafeMutableBufferPointer { packed in
                    for xi in 0..<Self.points {
                        unet_small_gemm_pack(u.baseAddress! + xi * cout * cin, Int64(cout), Int64(cin),
                                             packed.baseAddress! + xi * packedFloats)
                    }
                }
            }
            packedWeights = packed
        } else {
            packedWeights = nil
        }
    }

    /// Where the own 6×16 GEMM beats OpenBLAS's (which packs both operands and clears C first), per layer
    /// at width 16 on 2-core AMD EPYC with AVX2: up to 32 input channels (512² tile, best of 5 rounds,
    /// 16→16: 12.6 → 9.5 ms; 32→16: 18.8 → 15.3 ms; BENCHMARKS.md session 18). From 64 on, B's strided
    /// rows stream from L2 and OpenBLAS's packed panels win again (128→64 at 128²: 11.9 → 13.1 ms).
    static func ownGEMMWins(outputChannels: Int, inputChannels: Int) -> Bool {
        inputChannels <= 32 && outputChannels <= 64
    }

    /// Tiles (4×4 output blocks) per band so that one band's scratch fits `bandBudget`.
    func tilesPerBand(tilesPerRow: Int) -> Int {
        let perTile = Self.points * (inputChannels + outputChannels)
        let rows = max(1, max(Self.bandBudget / perTile, Self.minimumBandTiles) / tilesPerRow)
        return rows * tilesPerRow
    }

    /// At least this many tiles per band, so wide layers do not repack their weights for every sliver.
    static let minimumBandTiles = 256

    /// Scratch floats per worker for a layer of this size: one band's transformed inputs and products,
    /// and the transforms' row buffers.
    func scratchCount(height: Int, width: Int) -> Int {
        let tilesPerRow = (width + 3) / 4
        return Self.points * (inputChannels + outputChannels) * bandTileRows(height: height, tilesPerRow: tilesPerRow) * tilesPerRow
            + Int(unet_winograd4_scratch_floats(Int64(width)))
    }

    /// Rows of tiles per band: the scratch budget's, but no more than leaves `ParallelBands.minimumBands` bands.
    private func bandTileRows(height: Int, tilesPerRow: Int) -> Int {
        max(1, min(tilesPerBand(tilesPerRow: tilesPerRow) / tilesPerRow, ParallelBands.largestBand((height + 3) / 4)))
    }

    func forward(input: UnsafePointer<Float>, height: Int, width: Int, output: UnsafeMutablePointer<Float>, relu: Bool,
                 scratch: UnsafeMutablePointer<Float>, scratchPerWorker: Int, parallel: ParallelBands) {
        let tilesPerRow = (width + 3) / 4, tileRows = (height + 3) / 4, points = Self.points
        let bandTileRows = bandTileRows(height: height, tilesPerRow: tilesPerRow)
        let vectorised: Int32 = vectorised ? 1 : 0
        parallel.forEach(count: tileRows, chunk: bandTileRows) { worker, band in
            let tiles = band.count * tilesPerRow
            let transformed = scratch + worker * scratchPerWorker
            let products = transformed + points * inputChannels * tiles
            let rowScratch = products + points * outputChannels * tiles
            let first = Int64(band.lowerBound), end = Int64(band.upperBound)
            unet_winograd4_input(vectorised, input, Int64(inputChannels), Int64(height), Int64(width), first, end,
                                 transformed, rowScratch)
            if let packedWeights {
                packedWeights.withUnsafeBufferPointer { packed in
                    for xi in 0..<points {
                        _ = unet_small_gemm(packed.baseAddress! + xi * packedFloats, Int64(outputChannels), Int64(tiles),
                                            Int64(inputChannels), transformed + xi * inputChannels * tiles, Int64(tiles),
                                            products + xi * outputChannels * tiles, Int64(tiles))
                    }
                }
            } else {
                transformedWeights.withUnsafeBufferPointer { u in
                    for xi in 0..<points {
                        BLAS.gemm(m: outputChannels, n: tiles, k: inputChannels,
                                  a: u.baseAddress! + xi * outputChannels * inputChannels, lda: inputChannels,
                                  b: transformed + xi * inputChannels * tiles, ldb: tiles,
                                  c: products + xi * outputChannels * tiles, ldc: tiles)
                    }
                }
            }
            bias.withUnsafeBufferPointer { b in
                unet_winograd4_output(vectorised, products, Int64(outputChannels), Int64(tiles), Int64(height), Int64(width),
                                      first, end, b.baseAddress!, relu ? 1 : 0, output, rowScratch)
            }
        }
    }
}
