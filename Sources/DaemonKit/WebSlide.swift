import ControlProtocol
import Foundation
import Hummingbird
import Segmentation

/// A slide the web page may show: a job found by its outputs' name, and the only files a request about
/// it may read (its outputs in the outbox, its original in the archive). A name that could reach
/// anywhere else (`..`, a slash, a NUL, a leading dot) is refused before anything is looked up.
struct WebSlide: Sendable {
    let job: Job
    let outputName: String
    let outbox: String

    /// Whether `name` can be an output name at all.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".") && !name.contains("..")
            && !name.contains(where: { $0 == "/" || $0 == "\\" || $0 == "\0" || $0.isNewline })
    }

    /// The slide named `name`: 400 for a name that cannot be one, 404 for one the daemon does not know.
    /// The name arrives as it was in the path: percent-encoded (a browser's `a%20b`, or an encoded slash), decoded here first.
    static func resolve(_ encodedName: String, _ dependencies: ControlServer.Dependencies) async throws -> WebSlide {
        guard let name = encodedName.removingPercentEncoding, isValidName(name) else { throw HTTPError(.badRequest, message: "not a slide name: \(encodedName.debugDescription)") }
        let store = dependencies.store
        guard let job = try await dependencies.database.run({ try store.job(outputName: name) }) else {
            throw HTTPError(.notFound, message: "no slide named \(name)")
        }
        return WebSlide(job: job, outputName: name, outbox: dependencies.configuration.outbox)
    }

    /// `outbox/NAME<suffix>`.
    func output(_ suffix: String) -> String { outbox + "/" + outputName + suffix }

    /// The archived original, while it is there.
    var original: String? {
        guard job.state == .archived, let destination = job.destination, access(destination, R_OK) == 0 else { return nil }
        return destination
    }

    /// The mask the viewer draws: the pyramid TIFF where there is one, else the PNG.
    var mask: String? {
        [output(OutputKind.pyramid.suffix), output(OutputKind.mask.suffix)].first { access($0, R_OK) == 0 }
    }

    /// The files a download may name: output kinds, `summary` (result.json) and `summary_csv`.
    static func suffix(ofDownload kind: String) -> String? {
        switch kind {
        case "summary": OutputKind.summarySuffix
        case "summary_csv": OutputKind.summaryTableSuffix
        default: OutputKind(rawValue: kind)?.suffix
        }
    }

    /// Download kind → URL, for the files that exist.
    var downloads: [String: String] {
        var links: [String: String] = [:]
        for kind in OutputKind.allCases.map(\.rawValue) + ["summary", "summary_csv"] {
            if let suffix = Self.suffix(ofDownload: kind), access(output(suffix), R_OK) == 0 {
                links[kind] = "/files/\(outputName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? outputName)/\(kind)"
            }
        }
        return links
    }

    /// The overview's row for `job`, with figures from its result.json when it finished.
    static func result(_ job: Job, outbox: String) -> WebResult {
        let summary = job.state == .archived ? job.outputName.flatMap { SegmentationSummary.read(from: outbox + "/" + $0 + OutputKind.summarySuffix) } : nil
        return WebResult(name: job.name, outputName: job.outputName, state: job.state, finishedAt: job.finishedAt, seconds: job.seconds,
                         nuclei: job.nuclei ?? summary?.objects, nucleiPerMM2: summary?.nuclei?.nucleiPerMM2,
                         dice: summary?.scores?.dice, objectF1: summary?.scores?.objectF1,
                         error: job.state == .archived ? nil : job.error)
    }

    /// The measurements (objects.csv's columns) of the nucleus at slide pixel (`x`, `y`): of the objects
    /// whose box holds the point, the one whose centroid is nearest; nil when none does.
    func nucleus(x: Double, y: Double) -> [String: String]? {
        guard let text = try? String(contentsOfFile: output(OutputKind.objects.suffix), encoding: .utf8) else { return nil }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let headerLine = lines.next() else { return nil }
        let header = Self.csvFields(headerLine)
        guard let cx = header.firstIndex(of: "centroid_x"), let cy = header.firstIndex(of: "centroid_y"),
              let bx = header.firstIndex(of: "bbox_x"), let by = header.firstIndex(of: "bbox_y"),
              let bw = header.firstIndex(of: "bbox_width"), let bh = header.firstIndex(of: "bbox_height") else { return nil }
        var best: (distance: Double, fields: [String])?
        while let line = lines.next() {
            let fields = Self.csvFields(line)
            guard fields.count == header.count, let left = Double(fields[bx]), let top = Double(fields[by]),
                  let width = Double(fields[bw]), let height = Double(fields[bh]),
                  x >= left, x <= left + width, y >= top, y <= top + height,
                  let centreX = Double(fields[cx]), let centreY = Double(fields[cy]) else { continue }
            let distance = (centreX - x) * (centreX - x) + (centreY - y) * (centreY - y)
            if best == nil || distance < best!.distance { best = (distance, fields) }
        }
        guard let best else { return nil }
        // Empty cells (µm figures without an MPP) are left out rather than shown blank.
        return Dictionary(uniqueKeysWithValues: zip(header, best.fields).filter { !$0.0.hasPrefix("bbox_") && !$0.1.isEmpty })
    }

    /// One CSV line's fields (RFC 4180 quoting).
    static func csvFields(_ line: Substring) -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var characters = line.makeIterator()
        while let c = characters.next() {
            if quoted {
                if c == "\"" { quoted = false } else { field.append(c) }
            } else if c == "\"" {
                if !field.isEmpty { field.append("\"") }  // a doubled quote inside a quoted field
                quoted = true
            } else if c == "," {
                fields.append(field); field = ""
            } else if c != "\r" {
                field.append(c)
            }
        }
        fields.append(field)
        return fields
    }
}
