import ControlProtocol
import Foundation
import GRDB

/// Durable job state in SQLite through GRDB records and migrations. Calls block: from async code,
/// go through a `BlockingPool`. Each method is one transaction, so a job is always in exactly one
/// stored state.
public final class JobStore: Sendable {
    let database: DatabaseQueue

    public init(path: String) throws {
        database = try DatabaseQueue(path: path)
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v2-job-state-machine") { db in
            try db.create(table: "job") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("spoolPath", .text).notNull()
                t.column("claimedFrom", .text).notNull()
                t.column("contentSHA256", .text)
                t.column("state", .text).notNull().indexed()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("modelSHA256", .text)
                t.column("outputName", .text)
                t.column("destination", .text)
                t.column("duplicateOf", .text)
                t.column("error", .text)
                t.column("pendingMetricsLine", .text)
                t.column("queuedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.column("seconds", .double)
                t.column("retryAt", .datetime)
            }
            try db.create(index: "job_content", on: "job", columns: ["contentSHA256", "modelSHA256"])
            // Databases of earlier versions: unfinished jobs come back as queued, history is kept.
            if try db.tableExists("jobs") {
                try db.execute(sql: """
                    INSERT INTO job (name, spoolPath, claimedFrom, contentSHA256, state, attempts, modelSHA256, error,
                                     queuedAt, finishedAt, seconds)
                    SELECT name, spool_path, '', content_sha256,
                           CASE state WHEN 'done' THEN 'archived' WHEN 'duplicate' THEN 'archived' WHEN 'failed' THEN 'failed' ELSE 'queued' END,
                           attempts, model_sha256, error, datetime(queued_at, 'unixepoch'),
                           CASE WHEN finished_at IS NULL THEN NULL ELSE datetime(finished_at, 'unixepoch') END, seconds
                    FROM jobs ORDER BY id
                    """)
                try db.drop(table: "jobs")
            }
        }
        migrator.registerMigration("v3-nuclei") { db in
            try db.alter(table: "job") { t in t.add(column: "nuclei", .integer) }
        }
        migrator.registerMigration("v4-web-indexes") { db in
            // The web page's results, sorted by finishing time within a state, and slides by their outputs' name.
            try db.create(index: "job_state_finished", on: "job", columns: ["state", "finishedAt"])
            try db.create(index: "job_output_name", on: "job", columns: ["outputName"])
        }
        return migrator
    }

    /// Stores a new job (normally `claiming`, before its file is moved); returns it with its id.
    public func insert(_ job: Job) throws -> Job {
        try database.write { db in
            var job = job
            try job.insert(db)
            return job
        }
    }

    public func job(_ id: Int64) throws -> Job? {
        try database.read { db in try Job.fetchOne(db, key: id) }
    }

    /// Reads a job, changes it, and stores the change in one transaction; returns the stored job.
    @discardableResult
    public func update(_ id: Int64, _ change: @Sendable (inout Job) -> Void) throws -> Job {
        try database.write { db in
            guard var job = try Job.fetchOne(db, key: id) else { throw DaemonError("update job \(id)", detail: "no such job") }
            change(&job)
            try job.update(db)
            return job
        }
    }

    public func delete(_ id: Int64) throws {
        _ = try database.write { db in try Job.deleteOne(db, key: id) }
    }

    public func jobs(in states: [JobState]) throws -> [Job] {
        try database.read { db in try Job.filter(states.contains(Job.Columns.state)).order(Column("id")).fetchAll(db) }
    }

    /// The oldest queued job, made active with its attempt counted first (so a slide that crashes
    /// the daemon cannot be retried forever).
    public func claimNext() throws -> Job? {
        try database.write { db in
            guard var job = try Job.filter(Job.Columns.state == JobState.queued).order(Column("id")).fetchOne(db) else { return nil }
            job.state = .active
            job.attempts += 1
            try job.update(db)
            return job
        }
    }

    /// An archived job with the same content and model, if any (the same slide dropped again).
    public func finishedDuplicate(of job: Job, modelSHA256: String) throws -> Job? {
        guard let content = job.contentSHA256 else { return nil }
        return try database.read { db in
            try Job.filter(Job.Columns.contentSHA256 == content && Job.Columns.modelSHA256 == modelSHA256
                           && Job.Columns.state == JobState.archived && Column("id") != job.storedID && Column("outputName") != nil)
                .order(Column("id")).fetchOne(db)
        }
    }

    /// Finished jobs whose metrics line is not yet in the log.
    public func jobsWithPendingMetrics() throws -> [Job] {
        try database.read { db in
            try Job.filter(Job.Columns.pendingMetricsLine != nil && [JobState.archived, .failed].contains(Job.Columns.state)).fetchAll(db)
        }
    }

    /// Failed jobs by original name (newest first), or all of them.
    public func failedJobs(named name: String?) throws -> [Job] {
        try database.read { db in
            var request = Job.filter(Job.Columns.state == JobState.failed)
            if let name { request = request.filter(Job.Columns.name == name) }
            return try request.order(Column("id").desc).fetchAll(db)
        }
    }

    public struct Counts: Sendable, Equatable {
        public var pending = 0, deferred = 0, done = 0, failed = 0
        /// Nuclei found in the finished slides.
        public var nuclei = 0
    }

    public func counts() throws -> Counts {
        try database.read { db in
            var counts = Counts()
            let rows = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM job GROUP BY state")
            for row in rows {
                let count: Int = row["n"]
                switch JobState(rawValue: row["state"]) {
                case .archived: counts.done += count
                case .failed: counts.failed += count
                case .deferred: counts.deferred += count; counts.pending += count
                case .claiming, .queued, .active, .publishing, .failing: counts.pending += count
                case nil: break
                }
            }
            counts.nuclei = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(nuclei), 0) FROM job WHERE state = 'archived'") ?? 0
            return counts
        }
    }

    /// The newest jobs, optionally only those in `state`.
    public func recent(limit: Int, state: JobState? = nil) throws -> [JobRecord] {
        try database.read { db in
            var request = Job.order(Column("id").desc).limit(limit)
            if let state { request = request.filter(Job.Columns.state == state) }
            return try request.fetchAll(db).map(\.record)
        }
    }
}
