import UNetCore

/// Where forward passes spend their time, layer by layer: what `unet bench --layers` prints, to
/// choose kernels by measurement. Filled by `UNetRunner` while one is attached; costs nothing otherwise.
public final class LayerProfile {
    /// One layer, averaged over the passes measured.
    public struct Entry: Codable, Sendable {
        /// e.g. `down2.conv1`, `up1.upsample`, `pool3`.
        public var layer: String
        /// The kernel that ran it (`direct-avx2`, `winograd-own`, `shifted-rows`, ...).
        public var kernel: String
        public var inputChannels: Int, outputChannels: Int
        public var height: Int, width: Int
        public var seconds: Double
        /// 2 × the multiply-adds of the layer as a plain convolution (0 for data movement), per second.
        public var gigaflopsPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case layer, kernel, inputChannels = "input_channels", outputChannels = "output_channels", height, width, seconds
            case gigaflopsPerSecond = "gflops"
        }
    }

    private struct Totals {
        var entry: Entry
        var flops: Double
    }

    private var totals: [Totals] = []
    private var index = 0
    private var passes = 0

    public init() {}

    /// Per-pass averages, in the order the layers ran.
    public var entries: [Entry] {
        totals.map { total in
            var entry = total.entry
            entry.seconds /= Double(max(passes, 1))
            entry.gigaflopsPerSecond = entry.seconds > 0 ? total.flops / entry.seconds / 1e9 : 0
            return entry
        }
    }

    func beginPass() { index = 0 }
    func endPass() { passes += 1 }

    /// Times `body` as the next layer of this pass.
    func measure(_ layer: @autoclosure () -> String, kernel: @autoclosure () -> String, input: Int, output: Int,
                 height: Int, width: Int, kernelSize: Int, _ body: () -> Void) {
        let start = ContinuousClock.now
        body()
        let seconds = (ContinuousClock.now - start).seconds
        if index == totals.count {
            let entry = Entry(layer: layer(), kernel: kernel(), inputChannels: input, outputChannels: output,
                              height: height, width: width, seconds: 0, gigaflopsPerSecond: 0)
            totals.append(Totals(entry: entry, flops: Double(2 * input * output * kernelSize * kernelSize * height * width)))
        }
        totals[index].entry.seconds += seconds
        index += 1
    }
}
