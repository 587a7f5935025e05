import ControlProtocol
import Foundation
import GRDB

/// The web page's reads: results a page at a time (sorted and filtered in SQLite, so 10,000 finished
/// slides cost one indexed query per page), and a slide by its outputs' name.
extension JobStore {
    /// The rows `query` selects, and how many match in all.
    public func results(_ query: WebResultsQuery) throws -> (total: Int, jobs: [Job]) {
        try database.read { db in
            let states: [JobState] = switch query.filter {
            case .all: [.archived, .failed, .deferred]
            case .done: [.archived]
            case .failed: [.failed]
            case .deferred: [.deferred]
            }
            var request = Job.filter(states.contains(Job.Columns.state))
            if let text = query.nameContains, !text.isEmpty {
                // LIKE with the pattern's own wildcards escaped: a name with % or _ matches only itself.
                let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_")
                request = request.filter(sql: "name LIKE ? ESCAPE '\\'", arguments: ["%" + escaped + "%"])
            }
            let total = try request.fetchCount(db)
            let column: any SQLOrderingTerm = switch query.sort {
            case .finished: query.descending ? Column("finishedAt").desc : Column("finishedAt").asc
            case .name: query.descending ? Column("name").collating(.nocase).desc : Column("name").collating(.nocase).asc
            case .nuclei: query.descending ? Column("nuclei").desc : Column("nuclei").asc
            case .seconds: query.descending ? Column("seconds").desc : Column("seconds").asc
            }
            let ordering = column
            let rows = try request.order(ordering, query.descending ? Column("id").desc : Column("id").asc)
                .limit(query.limit, offset: query.offset).fetchAll(db)
            return (total, rows)
        }
    }

    /// The job whose outputs are named `outputName`: the latest, should a name have been reused.
    public func job(outputName: String) throws -> Job? {
        try database.read { db in
            try Job.filter(Column("outputName") == outputName).order(Column("id").desc).fetchOne(db)
        }
    }
}
