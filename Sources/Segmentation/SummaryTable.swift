import Foundation
import SlideIO
import UNetCore

/// A slide's summary as one CSV row: `NAME.summary.csv` beside its other outputs, and the same row
/// in the directory's `summary.csv`, one row per slide, so that a lab that drops 200 slides has one
/// table to open. The shared table is rewritten atomically under an exclusive `flock` on
/// `.summary.csv.lock`, and a slide's row replaces any earlier one of the same output name: with
/// several workers or daemons on one directory, no row is lost or doubled.
public enum SummaryTable {
    public static let fileName = "summary.csv"
    static let lockName = ".summary.csv.lock"

    /// The columns: who, when and with what, then the nucleus figures; µm columns empty without an MPP.
    public static let header: [String] = {
        var columns = ["name", "slide", "finished", "model_sha256", "stain_vectors", "width", "height", "slide_mpp",
                       "nuclei", "tissue_area_mm2", "nuclei_per_mm2"]
        for measure in ["area_um2", "area_px", "circularity", "hematoxylin_od"] {
            columns += ["median", "q1", "q3", "iqr"].map { "\(measure)_\($0)" }
        }
        let edges = NucleusSummary.areaHistogramEdges
        columns += edges.indices.map { i in
            i + 1 < edges.count ? "area_\(Int(edges[i]))_\(Int(edges[i + 1]))_um2" : "area_\(Int(edges[i]))_up_um2"
        }
        return columns
    }()

    /// The row for one slide's summary, `name` being its outputs' `NAME`.
    public static func row(name: String, summary: SegmentationSummary, finished: Date) -> [String] {
        func number(_ value: Double?) -> String { value.map { ObjectWriter.number($0) } ?? "" }
        let nuclei = summary.nuclei
        var row = [name, summary.slide, ISO8601DateFormatter().string(from: finished), summary.model.sha256,
                   summary.stainVectors?.source.rawValue ?? "", "\(summary.width)", "\(summary.height)", number(summary.slideMPP),
                   "\(nuclei?.nuclei ?? summary.objects)", number(nuclei?.tissueAreaMM2), number(nuclei?.nucleiPerMM2)]
        for spread in [nuclei?.areaMicrons, nuclei?.areaPixels, nuclei?.circularity, nuclei?.hematoxylinOD] {
            row += [spread?.median, spread?.q1, spread?.q3, spread.map { NucleusSummary.Accumulator.rounded($0.iqr) }].map(number)
        }
        let bins = NucleusSummary.areaHistogramEdges.count
        row += nuclei?.areaHistogram?.counts.map { "\($0)" } ?? [String](repeating: "", count: bins)
        return row.map(CSVField.escaped)
    }

    /// The text of a one-row table (`NAME.summary.csv`).
    public static func text(rows: [[String]]) -> String {
        ([header.joined(separator: ",")] + rows.map { $0.joined(separator: ",") }).map { $0 + "\n" }.joined()
    }

    /// Puts `row` into `directory/summary.csv`, replacing the row of the same name if there is one.
    public static func record(_ row: [String], in directory: String) throws(SlideError) {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        let lockPath = URL(fileURLWithPath: directory).appendingPathComponent(lockName).path
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw SlideError(path: lockPath, reason: "cannot open the summary table's lock", errorNumber: errno) }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SlideError(path: lockPath, reason: "cannot lock the summary table", errorNumber: errno) }
        }
        var lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        let headerLine = header.joined(separator: ",")
        if lines.first != headerLine { lines = [] }  // absent, or from an older layout: start again
        else { lines.removeFirst() }
        let key = row[0] + ","
        lines.removeAll { $0.hasPrefix(key) }
        lines.append(row.joined(separator: ","))
        let text = ([headerLine] + lines).map { $0 + "\n" }.joined()
        do { try AtomicFile.write(Array(text.utf8), to: path) } catch {
            throw SlideError(path: path, reason: error.description, errorNumber: error.errorNumber)
        }
    }
}
