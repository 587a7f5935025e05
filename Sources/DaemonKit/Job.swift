import ControlProtocol
import Foundation
import GRDB

/// One claimed slide, as stored in the `job` table. The file moves it goes through are written here
/// before they happen (`spoolPath`, `outputName`, `destination`) so that after a crash each can be
/// finished or undone; see `JobState` for the transitions.
public struct Job: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "job"

    public var id: Int64?
    /// The name the slide was dropped under (any length the file system accepts).
    public var name: String
    /// Where it sits while claimed: `state/spool/TAG-NAME` with the name bounded.
    public var spoolPath: String
    /// Where it was claimed from (the inbox, or failed/ on retry): a crashed claim is undone there.
    public var claimedFrom: String
    /// sha256 of the slide; nil until hashed (off the claim path, before segmentation).
    public var contentSHA256: String?
    public var state: JobState
    public var attempts: Int
    public var modelSHA256: String?
    /// Stem of the outputs in the outbox, fixed before any output is written.
    public var outputName: String?
    /// archive/… or failed/… path, fixed before the original is moved there.
    public var destination: String?
    /// The earlier slide (same content and model) whose result this one reuses.
    public var duplicateOf: String?
    public var error: String?
    /// The metrics line still to append (written once the job finishes, cleared once appended).
    public var pendingMetricsLine: String?
    public var queuedAt: Date
    public var finishedAt: Date?
    public var seconds: Double?
    /// For deferred jobs: when to try again.
    public var retryAt: Date?
    /// Nuclei found (objects in its outputs), once finished.
    public var nuclei: Int?

    public init(name: String, spoolPath: String, claimedFrom: String, state: JobState = .claiming) {
        self.name = name
        self.spoolPath = spoolPath
        self.claimedFrom = claimedFrom
        self.state = state
        attempts = 0
        queuedAt = Date()
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The job's id once stored (every job the store hands out has one).
    public var storedID: Int64 { id ?? -1 }

    public var record: JobRecord {
        JobRecord(id: storedID, name: name, state: state, attempts: attempts, outputName: outputName, duplicateOf: duplicateOf,
                  modelSHA256: modelSHA256, queuedAt: queuedAt, finishedAt: finishedAt, seconds: seconds, error: error)
    }

    public enum Columns {
        static let state = Column(CodingKeys.state)
        static let contentSHA256 = Column(CodingKeys.contentSHA256)
        static let modelSHA256 = Column(CodingKeys.modelSHA256)
        static let name = Column(CodingKeys.name)
        static let pendingMetricsLine = Column(CodingKeys.pendingMetricsLine)
    }
}

extension JobState: DatabaseValueConvertible {}
