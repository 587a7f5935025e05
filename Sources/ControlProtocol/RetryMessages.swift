/// `POST /v1/retry`: failed (or deferred) slides back into the queue, by name or all of them.
public struct RetryRequest: Codable, Sendable, Equatable {
    /// The slide's original name (`NAME.tif`); nil with `allFailed`.
    public var name: String?
    public var allFailed: Bool

    public init(name: String?, allFailed: Bool) {
        self.name = name
        self.allFailed = allFailed
    }

    enum CodingKeys: String, CodingKey { case name, allFailed = "all_failed" }
}

public struct RetryResponse: Codable, Sendable, Equatable {
    /// The slides requeued (original names).
    public var requeued: [String]
    public init(requeued: [String]) { self.requeued = requeued }
}
