import ControlProtocol
import DefaultModel
import Foundation
import Segmentation
import SlideIO
import Synchronization
import UNetCore
import UNetEngine

/// A loaded model with one segmenter per worker. The network's weights are shared read-only by all
/// of them; each segmenter owns its reusable buffers, so it sits behind a mutex of its own and worker
/// `i` always uses segmenter `i`.
public final class LoadedModel: Sendable {
    public let file: ModelFile
    private let slots: [Slot]
    public let loadedAt: Date

    private final class Slot: Sendable {
        let segmenter: Mutex<SlideSegmenter>
        init(_ segmenter: sending SlideSegmenter) { self.segmenter = Mutex(segmenter) }
    }

    init(file: ModelFile, network: UNet, threads: Int, workers: Int) {
        self.file = file
        slots = (0..<max(1, workers)).map { _ in Slot(SlideSegmenter(model: file, network: network, threads: threads)) }
        loadedAt = Date()
    }

    /// `SlideSegmenter.segment` on this model with worker `worker`'s segmenter (blocking: call it
    /// from a `BlockingPool`).
    public func segment(worker: Int, slidePath: String, outputDirectory: String, options: SegmentationOptions, outputName: String?,
                        provenance: SegmentationSummary.Provenance?, isCancelled: @escaping @Sendable () -> Bool,
                        progress: @escaping @Sendable (SegmentationProgress) -> Void,
                        beforePublishing: @escaping @Sendable () throws(SlideError) -> Void) throws(SlideError) -> SegmentationSummary {
        try slots[worker % slots.count].segmenter.withLock { (segmenter) throws(SlideError) -> SegmentationSummary in
            try segmenter.segment(slidePath: slidePath, outputDirectory: outputDirectory, options: options, outputName: outputName,
                                  provenance: provenance, isCancelled: isCancelled, progress: progress, beforePublishing: beforePublishing)
        }
    }

    public var status: ModelStatus {
        ModelStatus(path: file.path, sha256: file.sha256, loadedAt: loadedAt, architecture: file.metadata.architecture.description)
    }
}

/// The model being served, and hot reload: a new checkpoint is loaded and checked beside the old one
/// (architecture, finite weights, a test inference on a fixed tile) and only then swapped in. The slide
/// in progress keeps the model it started with; a failed reload leaves the old model serving.
public actor ModelRegistry {
    public private(set) var current: LoadedModel
    public private(set) var lastReload: StatusResponse.LastReload?
    private let configuredPath: String?
    private let threads: Int
    private let workers: Int
    private let precision: Precision
    private let io: BlockingPool

    /// Loads and checks the configured model (blocking: this runs once, before the services start).
    /// `workers` segmenters share it, each running slides with `threads` threads.
    public init(path: String?, threads: Int, workers: Int = 1, precision: Precision = .fp32, io: BlockingPool) throws {
        configuredPath = path
        self.threads = threads
        self.workers = workers
        self.precision = precision
        self.io = io
        current = try Self.loadChecked(path: path, threads: threads, workers: workers, precision: precision)
    }

    /// Loads `path` (or the configured model); returns the error message when refused.
    @discardableResult
    public func reload(path: String? = nil) async -> String? {
        let target = path ?? configuredPath
        let threads = self.threads, workers = self.workers, precision = self.precision
        let refusal: String?
        do {
            let candidate = try await io.run { try Self.loadChecked(path: target, threads: threads, workers: workers, precision: precision) }
            current = candidate
            lastReload = .init(ok: true, at: Date(), error: nil)
            refusal = nil
        } catch {
            refusal = "\(error)"
            lastReload = .init(ok: false, at: Date(), error: refusal)
        }
        // The replaced model (unless a slide still holds it) or the refused one is free now: give it back.
        try? await io.run { SystemAllocator.releaseFreeMemory() }
        return refusal
    }

    static func loadChecked(path: String?, threads: Int, workers: Int, precision: Precision) throws -> LoadedModel {
        let file = try DefaultModel.load(explicitPath: path)
        let network = try file.network(precision: precision)
        // A fixed, image-like 64×64 tile through the whole network must give finite probabilities.
        let side = 64
        let pixels = (0..<(side * side * 3)).map { UInt8(truncatingIfNeeded: ($0 * 37) ^ ($0 >> 7)) }
        let probe = ImagePredictor(network: network, preprocessing: file.metadata.preprocessing, threads: 1)
        let probabilities = probe.probabilities(.init(width: side, height: side, pixels: pixels))
        guard probabilities.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
            throw CheckpointProblem("\(file.path): test inference produced non-finite probabilities")
        }
        return LoadedModel(file: file, network: network, threads: threads, workers: workers)
    }
}
