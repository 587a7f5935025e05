import Foundation

/// The web page's read-only routes (served beside the control API; `unetctl web` forwards to them).
public enum WebPath {
    /// `GET`: the finished, failed and deferred slides, a page at a time (`WebResultsQuery`).
    public static let results = "/v1/web/results"
    /// `GET /v1/web/slides/NAME`: one slide's result, viewer geometry and downloads.
    public static let slides = "/v1/web/slides"
}

/// Which results a page asks for: `?offset=&limit=&sort=&order=&q=&state=`.
public struct WebResultsQuery: Sendable, Equatable {
    public enum Sort: String, Sendable, CaseIterable { case finished, name, nuclei, seconds }
    public enum Filter: String, Sendable, CaseIterable { case all, done, failed, deferred }

    public var offset = 0
    /// 1–200.
    public var limit = 25
    public var sort = Sort.finished
    public var descending = true
    /// Only names containing this (case-insensitive).
    public var nameContains: String?
    public var filter = Filter.all

    public init() {}
}

/// One row of the overview's results table.
public struct WebResult: Codable, Sendable, Equatable {
    public var name: String
    /// The outputs' stem: the slide page is `/slides/OUTPUT_NAME`. Absent for a slide that failed before one was chosen.
    public var outputName: String?
    public var state: JobState
    public var finishedAt: Date?
    public var seconds: Double?
    public var nuclei: Int?
    /// Nuclei per mm² of tissue (when the slide had an MPP).
    public var nucleiPerMM2: Double?
    public var dice: Double?
    public var objectF1: Double?
    /// Why it failed, or why it is deferred.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case name, outputName = "output_name", state, finishedAt = "finished_at", seconds, nuclei, nucleiPerMM2 = "nuclei_per_mm2", dice
        case objectF1 = "object_f1", error
    }

    public init(name: String, outputName: String?, state: JobState, finishedAt: Date?, seconds: Double?, nuclei: Int?,
                nucleiPerMM2: Double?, dice: Double?, objectF1: Double?, error: String?) {
        self.name = name
        self.outputName = outputName
        self.state = state
        self.finishedAt = finishedAt
        self.seconds = seconds
        self.nuclei = nuclei
        self.nucleiPerMM2 = nucleiPerMM2
        self.dice = dice
        self.objectF1 = objectF1
        self.error = error
    }
}

public struct WebResultsResponse: Codable, Sendable, Equatable {
    /// Rows matching the query, all pages together.
    public var total: Int
    public var offset: Int
    public var results: [WebResult]

    public init(total: Int, offset: Int, results: [WebResult]) {
        self.total = total
        self.offset = offset
        self.results = results
    }
}

/// A Deep Zoom image the viewer opens: its DZI descriptor and the coarsest level it may ask for.
public struct WebDeepZoom: Codable, Sendable, Equatable {
    public var dzi: String
    public var width: Int
    public var height: Int
    public var tileSize: Int
    public var minLevel: Int
    public var maxLevel: Int

    enum CodingKeys: String, CodingKey { case dzi, width, height, tileSize = "tile_size", minLevel = "min_level", maxLevel = "max_level" }

    public init(dzi: String, width: Int, height: Int, tileSize: Int, minLevel: Int, maxLevel: Int) {
        self.dzi = dzi
        self.width = width
        self.height = height
        self.tileSize = tileSize
        self.minLevel = minLevel
        self.maxLevel = maxLevel
    }
}

/// One slide's page: what it is, how it went, where to see it and what to download.
public struct WebSlideResponse: Codable, Sendable, Equatable {
    public var result: WebResult
    /// The original, as archived; absent once it has been moved away.
    public var slide: WebDeepZoom?
    /// The mask, from its pyramid or PNG; absent when neither was written.
    public var mask: WebDeepZoom?
    /// Output kind → download URL (`geojson`, `objects`, `pyramid`, `summary`, ...).
    public var downloads: [String: String]

    public init(result: WebResult, slide: WebDeepZoom?, mask: WebDeepZoom?, downloads: [String: String]) {
        self.result = result
        self.slide = slide
        self.mask = mask
        self.downloads = downloads
    }
}
