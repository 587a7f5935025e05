import Foundation
import Segmentation
import UNetCore
#if canImport(Glibc)
import Glibc
#endif

/// A slide whose content and model match an earlier one gets its own complete set of outputs from
/// the earlier result: the images hard-linked (copied across file systems), and a `result.json` of
/// its own naming it and the slide it duplicates. Published like a segmentation: everything under
/// temporary names first, then renamed into place with the summary last; all or nothing.
struct DuplicateOutputs {
    let outbox: String

    /// Publishes `earlierStem`'s outputs as `stem`'s. Returns the new summary, or nil when the
    /// earlier outputs are no longer complete (the caller then segments again).
    func publish(from earlierStem: String, to stem: String, slideName: String, duplicateOf: String,
                 beforePublishing: () throws -> Void) throws -> SegmentationSummary? {
        let earlierSummary = outbox + "/" + earlierStem + ".result.json"
        // A summary too old to decode cannot give the slide's table row: segment again.
        guard var summary = SegmentationSummary.read(from: earlierSummary) else { return nil }
        // Every file the earlier summary lists must still be there (a summary from before `outputs` was
        // complete lists mask and overlay).
        // The summaries are written anew under the new name; the rest is linked.
        let listed = summary.outputs.filter { $0.key != "summary" && $0.key != "summary_csv" }.values
        let images = listed.map { URL(fileURLWithPath: $0).lastPathComponent }.filter { $0.hasPrefix(earlierStem) }
            .map { String($0.dropFirst(earlierStem.utf8.count)) }
        guard !images.isEmpty, images.count == listed.count,
              images.allSatisfy({ access(outbox + "/" + earlierStem + $0, F_OK) == 0 }) else { return nil }

        var staged: [(temporary: String, final: String)] = []
        var published: [String] = []
        do {
            for suffix in images {
                let final = outbox + "/" + stem + suffix
                let temporary = AtomicFile.temporaryPath(for: final)
                try Self.linkOrCopy(outbox + "/" + earlierStem + suffix, temporary)
                staged.append((temporary, final))
            }
            summary.slide = slideName
            summary.duplicateOf = duplicateOf
            summary.node = NodeIdentity.current
            for (key, path) in summary.outputs {
                summary.outputs[key] = outbox + "/" + stem + String(URL(fileURLWithPath: path).lastPathComponent.dropFirst(earlierStem.utf8.count))
            }
            let newSummary = try summary.encoded()
            let row = SummaryTable.row(name: stem, summary: summary, finished: Date())
            try beforePublishing()
            for (temporary, final) in staged {
                guard rename(temporary, final) == 0 else { throw DaemonError.system("publish duplicate output", path: final) }
                published.append(final)
            }
            let table = outbox + "/" + stem + OutputKind.summaryTableSuffix
            do {
                try AtomicFile.write(Array(SummaryTable.text(rows: [row]).utf8), to: table)
                published.append(table)
                try SummaryTable.record(row, in: outbox)
                try AtomicFile.write(Array(newSummary), to: outbox + "/" + stem + ".result.json")
            } catch let error as AtomicFile.WriteError {
                throw DaemonError("publish duplicate output", path: error.path, errorNumber: error.errorNumber)
            }
            return summary
        } catch {
            for (temporary, _) in staged { unlink(temporary) }
            for path in published { unlink(path) }
            throw error
        }
    }

    /// A hard link where the file system allows it, otherwise a copy (fsynced).
    private static func linkOrCopy(_ source: String, _ destination: String) throws {
        if link(source, destination) == 0 { return }
        guard errno == EXDEV || errno == EPERM || errno == EMLINK else { throw DaemonError.system("link earlier output", path: source) }
        guard let bytes = FileManager.default.contents(atPath: source) else { throw DaemonError.system("read earlier output", path: source) }
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonError.system("copy earlier output", path: destination) }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            let code = errno
            unlink(destination)
            throw DaemonError("copy earlier output", path: destination, errorNumber: code)
        }
    }
}
