import Foundation

/// The JSON `unetd` serves on its Unix socket and `unetctl` reads: `GET /v1/status`, `GET /v1/jobs`,
/// `POST /v1/reload`, `POST /v1/pause`, `POST /v1/resume`, `POST /v1/retry` (and Prometheus text on `GET /metrics`).
public enum ControlPath {
    public static let status = "/v1/status"
    public static let jobs = "/v1/jobs"
    public static let reload = "/v1/reload"
    public static let pause = "/v1/pause"
    public static let resume = "/v1/resume"
    public static let retry = "/v1/retry"
    public static let metrics = "/metrics"
}

public struct ModelStatus: Codable, Sendable, Equatable {
    public var path: String
    public var sha256: String
    public var loadedAt: Date
    public var architecture: String

    public init(path: String, sha256: String, loadedAt: Date, architecture: String) {
        self.path = path
        self.sha256 = sha256
        self.loadedAt = loadedAt
        self.architecture = architecture
    }

    enum CodingKeys: String, CodingKey { case path, sha256, loadedAt = "loaded_at", architecture }
}

/// A slide being segmented right now, and how far it has got.
public struct CurrentSlide: Codable, Sendable, Equatable {
    public var name: String
    public var jobID: Int64
    public var tilesDone: Int
    public var tilesTotal: Int
    public var startedAt: Date
    /// The slide's size in megapixels (0 until its first tile).
    public var megapixels: Double
    /// Seconds its segmentation has run, as of the last tile.
    public var seconds: Double

    public init(name: String, jobID: Int64, tilesDone: Int, tilesTotal: Int, startedAt: Date, megapixels: Double = 0, seconds: Double = 0) {
        self.name = name
        self.jobID = jobID
        self.tilesDone = tilesDone
        self.tilesTotal = tilesTotal
        self.startedAt = startedAt
        self.megapixels = megapixels
        self.seconds = seconds
    }

    /// Fraction of tiles done, 0–1.
    public var fraction: Double { tilesTotal > 0 ? Double(tilesDone) / Double(tilesTotal) : 0 }

    /// Megapixels of the slide covered per second so far; nil before the first tile.
    public var megapixelsPerSecond: Double? {
        guard tilesDone > 0, seconds > 0 else { return nil }
        return megapixels * fraction / seconds
    }

    /// Seconds left at the pace so far; nil before the first tile.
    public var secondsRemaining: Double? {
        guard tilesDone > 0, seconds > 0 else { return nil }
        return seconds * (1 - fraction) / fraction
    }

    /// `NAME: 5/9 tiles (56%), 1.23 MP/s, ETA 0:04`, as `unetctl status` shows it.
    public var progressDescription: String {
        var text = "\(name): \(tilesDone)/\(tilesTotal) tiles (\(Int((fraction * 100).rounded(.down)))%)"
        if let rate = megapixelsPerSecond, let remaining = secondsRemaining {
            let whole = Int(remaining.rounded())
            text += String(format: ", %.2f MP/s, ETA %d:%02d", rate, whole / 60, whole % 60)
        } else {
            text += ", starting"
        }
        return text
    }

    enum CodingKeys: String, CodingKey {
        case name, jobID = "job_id", tilesDone = "tiles_done", tilesTotal = "tiles_total", startedAt = "started_at", megapixels, seconds
    }
}

public struct StatusResponse: Codable, Sendable, Equatable {
    public struct Queue: Codable, Sendable, Equatable {
        /// Claimed and not finished (queued, active, publishing, deferred).
        public var pending: Int
        /// Of those, waiting for storage to recover.
        public var deferred: Int
        public init(pending: Int, deferred: Int = 0) { self.pending = pending; self.deferred = deferred }
    }

    public struct Counts: Codable, Sendable, Equatable {
        public var done: Int
        public var failed: Int
        /// Nuclei found in the finished slides (absent from daemons that do not count them).
        public var nuclei: Int?
        public init(done: Int, failed: Int, nuclei: Int? = nil) { self.done = done; self.failed = failed; self.nuclei = nuclei }
    }

    public struct LastReload: Codable, Sendable, Equatable {
        public var ok: Bool
        public var at: Date
        public var error: String?
        public init(ok: Bool, at: Date, error: String?) { self.ok = ok; self.at = at; self.error = error }
    }

    public var state: DaemonState
    /// Set while `state` is `degraded`.
    public var degraded: DegradedReason?
    public var model: ModelStatus
    public var queue: Queue
    public var counts: Counts
    /// Every slide in progress, one per busy worker, oldest first.
    public var slides: [CurrentSlide]
    /// The oldest slide in progress (what `slides` starts with), for clients of one worker.
    public var current: CurrentSlide? { slides.first }
    public var lastReload: LastReload?
    public var inbox: String
    public var pid: Int32
    /// The daemon's `node_name`.
    public var node: String
    /// Slides it segments at once.
    public var workers: Int

    public init(state: DaemonState, degraded: DegradedReason? = nil, model: ModelStatus, queue: Queue, counts: Counts, slides: [CurrentSlide],
                lastReload: LastReload?, inbox: String, pid: Int32, node: String, workers: Int) {
        self.state = state
        self.degraded = degraded
        self.model = model
        self.queue = queue
        self.counts = counts
        self.slides = slides
        self.lastReload = lastReload
        self.inbox = inbox
        self.pid = pid
        self.node = node
        self.workers = workers
    }

    enum CodingKeys: String, CodingKey {
        case state, degraded, model, queue, counts, slides, lastReload = "last_reload", inbox, pid, node, workers
    }
}

/// One slide's job, as `GET /v1/jobs` lists it (newest first).
public struct JobRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var state: JobState
    public var attempts: Int
    /// Stem of its outputs in the outbox (`STEM.mask.png`, ...), once chosen.
    public var outputName: String?
    /// The earlier slide with the same content and model whose result this one reuses.
    public var duplicateOf: String?
    public var modelSHA256: String?
    public var queuedAt: Date
    public var finishedAt: Date?
    public var seconds: Double?
    public var error: String?

    public init(id: Int64, name: String, state: JobState, attempts: Int, outputName: String?, duplicateOf: String?,
                modelSHA256: String?, queuedAt: Date, finishedAt: Date?, seconds: Double?, error: String?) {
        self.id = id
        self.name = name
        self.state = state
        self.attempts = attempts
        self.outputName = outputName
        self.duplicateOf = duplicateOf
        self.modelSHA256 = modelSHA256
        self.queuedAt = queuedAt
        self.finishedAt = finishedAt
        self.seconds = seconds
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case id, name, state, attempts, outputName = "output_name", duplicateOf = "duplicate_of", modelSHA256 = "model_sha256", queuedAt = "queued_at", finishedAt = "finished_at", seconds, error
    }
}

public struct JobsResponse: Codable, Sendable, Equatable {
    public var jobs: [JobRecord]
    public init(jobs: [JobRecord]) { self.jobs = jobs }
}

public struct ReloadRequest: Codable, Sendable, Equatable {
    /// A new model path; nil reloads the configured one.
    public var model: String?
    public init(model: String?) { self.model = model }
}

public struct ReloadResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    public var model: ModelStatus
    public var error: String?
    public init(ok: Bool, model: ModelStatus, error: String?) { self.ok = ok; self.model = model; self.error = error }
}

public struct ErrorResponse: Codable, Sendable, Equatable {
    public var error: String
    public init(error: String) { self.error = error }
}

/// Dates as ISO 8601 with fractional seconds, on both sides.
public enum ControlCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
