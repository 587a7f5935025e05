import Foundation
import Segmentation
#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on a terminal (tiles, MP/s, ETA); silent when stderr is not a terminal.
final class ProgressBar {
    private let label: String
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastDraw = 0.0

    init(label: String) { self.label = label }

    func update(_ progress: SegmentationProgress) {
        guard enabled, progress.seconds - lastDraw > 0.1 || progress.tilesDone == progress.tilesTotal else { return }
        lastDraw = progress.seconds
        let fraction = Double(progress.tilesDone) / Double(max(progress.tilesTotal, 1))
        let filled = Int(fraction * 30)
        let rate = progress.megapixels * fraction / max(progress.seconds, 1e-9)
        let remaining = fraction > 0 ? progress.seconds * (1 - fraction) / fraction : 0
        let line = String(format: "\r%@ [%@%@] %d/%d tiles  %.2f MP/s  ETA %d:%02d ", label,
                          String(repeating: "#", count: filled), String(repeating: ".", count: 30 - filled),
                          progress.tilesDone, progress.tilesTotal, rate, Int(remaining) / 60, Int(remaining) % 60)
        var stderr = StandardError()
        print(line, terminator: "", to: &stderr)
    }

    func clear() {
        guard enabled else { return }
        var stderr = StandardError()
        print("\r\u{1B}[K", terminator: "", to: &stderr)
    }
}
