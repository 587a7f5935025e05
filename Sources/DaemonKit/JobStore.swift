import ControlProtocol
import Foundation
import GRDB

/// Durable job state in SQLite (through GRDB): every claimed slide is a row that moves
/// queued → active → done | failed. Attempts are counted before each try, so a slide that crashes the
/// daemon is retried only `maximumAttempts` times; jobs left active by a crash are requeued at start.
public final class JobStore: Sendable {
    private let database: DatabaseQueue

    public struct Job: Sendable {
        public let id: Int64
        public let name: String
        public let spoolPath: String
        public let contentSHA256: String
        public let attempts: Int
    }

    public init(path: String) throws {
        database = try DatabaseQueue(path: path)
        try database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS jobs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    spool_path TEXT NOT NULL,
                    content_sha256 TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    model_sha256 TEXT,
                    error TEXT,
                    queued_at REAL NOT NULL,
                    finished_at REAL,
                    seconds REAL
                );
                CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
                CREATE INDEX IF NOT EXISTS jobs_content ON jobs(content_sha256, model_sha256);
                """)
        }
    }

    /// Records a claimed slide; returns its id.
    public func enqueue(name: String, spoolPath: String, contentSHA256: String) throws -> Int64 {
        try database.write { db in
            try db.execute(sql: "INSERT INTO jobs (name, spool_path, content_sha256, state, queued_at) VALUES (?, ?, ?, 'queued', ?)",
                           arguments: [name, spoolPath, contentSHA256, Date().timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    /// After a crash: active jobs go back to the queue, or to failed once out of attempts.
    public func recoverInterrupted(maximumAttempts: Int) throws -> (requeued: [Job], exhausted: [Job]) {
        try database.write { db in
            let active = try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE state = 'active'").map(Self.job)
            try db.execute(sql: "UPDATE jobs SET state = 'queued' WHERE state = 'active' AND attempts < ?", arguments: [maximumAttempts])
            return (active.filter { $0.attempts < maximumAttempts }, active.filter { $0.attempts >= maximumAttempts })
        }
    }

    /// The oldest queued job, marked active with its attempt counted first.
    public func claimNext() throws -> Job? {
        try database.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1") else { return nil }
            let job = Self.job(row)
            try db.execute(sql: "UPDATE jobs SET state = 'active', attempts = attempts + 1 WHERE id = ?", arguments: [job.id])
            return Job(id: job.id, name: job.name, spoolPath: job.spoolPath, contentSHA256: job.contentSHA256, attempts: job.attempts + 1)
        }
    }

    /// A finished job with the same content and model, if any (the same slide dropped twice).
    public func finishedDuplicate(contentSHA256: String, modelSHA256: String, excluding id: Int64) throws -> Int64? {
        try database.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM jobs WHERE content_sha256 = ? AND model_sha256 = ? AND state = 'done' AND id != ? LIMIT 1",
                               arguments: [contentSHA256, modelSHA256, id])
        }
    }

    public func finish(_ id: Int64, state: String, modelSHA256: String?, seconds: Double?, error: String?) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE jobs SET state = ?, model_sha256 = ?, seconds = ?, error = ?, finished_at = ? WHERE id = ?",
                           arguments: [state, modelSHA256, seconds, error, Date().timeIntervalSince1970, id])
        }
    }

    /// Puts an active job back in the queue (e.g. interrupted by shutdown) without using up an attempt.
    public func requeue(_ id: Int64) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0) WHERE id = ?", arguments: [id])
        }
    }

    public func counts() throws -> (pending: Int, done: Int, failed: Int) {
        try database.read { db in
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'active')") ?? 0
            let done = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state IN ('done', 'duplicate')") ?? 0
            let failed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state = 'failed'") ?? 0
            return (pending, done, failed)
        }
    }

    public func recent(limit: Int) throws -> [JobRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                JobRecord(id: row["id"], name: row["name"], state: row["state"], attempts: row["attempts"],
                          modelSHA256: row["model_sha256"], queuedAt: Date(timeIntervalSince1970: row["queued_at"]),
                          finishedAt: (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                          seconds: row["seconds"], error: row["error"])
            }
        }
    }

    private static func job(_ row: Row) -> Job {
        Job(id: row["id"], name: row["name"], spoolPath: row["spool_path"], contentSHA256: row["content_sha256"], attempts: row["attempts"])
    }
}
