import Foundation
import TestSupport
import Segmentation
import Testing
import UNetCore

/// `unet segment` as a Slurm job array runs it: shards, resumption, a status CSV per task.
@Suite struct JobArrayTests {
    @Test func everyNameIsInExactlyOneShard() throws {
        let names = (0..<1000).map { "slide-\($0).svs" }
        for count in [1, 2, 3, 4, 7, 16] {
            let shards = try (0..<count).map { try SlideShard(index: $0, count: count) }
            for name in names { #expect(shards.filter { $0.contains("/some/dir/" + name) }.count == 1) }
            // Roughly even: no shard holds more than twice its share.
            #expect(shards.allSatisfy { shard in names.filter(shard.contains).count <= 2 * names.count / count })
        }
        // Only the file name counts, not the directory it was listed from.
        let shard = try SlideShard(parsing: "1/4")
        #expect(shard.contains("/a/x.tif") == shard.contains("/b/c/x.tif"))
    }

    @Test func statusCSVQuotesWhatNeedsIt() {
        let rows = [SlideBatch.Row(slide: "/d/a,b.tif", outcome: .failed, seconds: 1.5, error: "bad \"tile\", twice")]
        let lines = SlideBatch.statusCSV(rows).split(separator: "\n").map(String.init)
        #expect(lines == ["slide,outcome,seconds,error", "\"/d/a,b.tif\",failed,1.500,\"bad \"\"tile\"\", twice\""])
        #expect(Self.csvFields(lines[1]) == ["/d/a,b.tif", "failed", "1.500", "bad \"tile\", twice"])
    }

    @Test func slurmArrayTasksAndBadShardsAreRead() throws {
        #expect(try SlideShard.fromSlurm([:]) == nil)
        let task = ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_MAX": "8", "SLURM_ARRAY_TASK_COUNT": "4"]
        #expect(try SlideShard.fromSlurm(task) == SlideShard(index: 2, count: 4))
        var stepped = task
        stepped["SLURM_ARRAY_TASK_MAX"] = "11"  // --array=5-11:2
        #expect(throws: SlideShard.Problem.self) { try SlideShard.fromSlurm(stepped) }
        for text in ["4/4", "-1/4", "1", "a/b", "0/0"] {
            #expect(throws: SlideShard.Problem.self) { try SlideShard(parsing: text) }
        }
    }

    /// Four shard processes at once over 40 slides (and one broken file), then a resubmission.
    @Test func fourShardsAtOnceSegmentEachSlideOnceAndResume() throws {
        let directory = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let slides = directory + "/slides", out = directory + "/out"
        try FileManager.default.createDirectory(atPath: slides, withIntermediateDirectories: true)
        let source = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("slides/tia_crop_64x48.tif")))
        for index in 0..<40 { try (source + Data("distinct-\(index)".utf8)).write(to: URL(fileURLWithPath: slides + "/s\(index).tif")) }
        try FileManager.default.copyItem(atPath: Fixtures.path("tiff_bad/seek_too_large.tif"), toPath: slides + "/broken.tif")
        let all = try FileManager.default.contentsOfDirectory(atPath: slides).sorted().map { slides + "/" + $0 }

        func runShards(_ extra: [String]) throws -> [(status: Int32, stderr: String, rows: [[String]])] {
            let processes = try (0..<4).map { shard -> (Process, Pipe) in
                let process = Process(), errors = Pipe()
                process.executableURL = URL(fileURLWithPath: Fixtures.executable("unet"))
                process.arguments = ["segment", "--model", Fixtures.engine("ref_bilinear_c1_bias.pth"), "--threads", "1", "--out", out,
                                     "--shard", "\(shard)/4", "--status-csv", directory + "/status-\(shard).csv"] + extra + all
                process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                process.standardError = errors
                try process.run()
                return (process, errors)
            }
            return try processes.enumerated().map { shard, running in
                let stderr = String(decoding: running.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                running.0.waitUntilExit()
                let csv = try String(contentsOfFile: directory + "/status-\(shard).csv", encoding: .utf8)
                let lines = csv.split(separator: "\n").map(String.init)
                #expect(lines.first == "slide,outcome,seconds,error")
                return (running.0.terminationStatus, stderr, lines.dropFirst().map { Self.csvFields($0) })
            }
        }

        let first = try runShards([])
        let rows = first.flatMap(\.rows)
        #expect(rows.count == all.count)
        #expect(Set(rows.map { $0[0] }) == Set(all), "the status files cover every slide")
        #expect(rows.filter { $0[1] == "segmented" }.count == 40)
        let failed = rows.filter { $0[1] == "failed" }
        #expect(failed.count == 1 && failed.first?[0] == slides + "/broken.tif" && failed.first?[3].contains("broken.tif") == true)
        // Exit status: non-zero exactly for the shard that met the broken slide, with one error line.
        for run in first {
            let hadFailure = run.rows.contains { $0[1] == "failed" }
            #expect((run.status != 0) == hadFailure)
            #expect(run.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }.count == (hadFailure ? 1 : 0), "\(run.stderr)")
        }
        let summaries = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".result.json") }
        #expect(summaries.sorted() == (0..<40).map { "s\($0).result.json" }.sorted())
        let stamps = try summaries.map { try FileManager.default.attributesOfItem(atPath: out + "/" + $0)[.modificationDate] as? Date }

        // Resubmitted: every finished slide is skipped and nothing is rewritten; the broken one is tried again.
        let second = try runShards(["--skip-existing"])
        let again = second.flatMap(\.rows)
        #expect(again.filter { $0[1] == "skipped" }.count == 40)
        #expect(again.filter { $0[1] == "segmented" }.isEmpty)
        #expect(try summaries.map { try FileManager.default.attributesOfItem(atPath: out + "/" + $0)[.modificationDate] as? Date } == stamps)
    }

    /// Splits one RFC 4180 line (quoted fields may hold commas and doubled quotes).
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = [], field = "", quoted = false
        let characters = Array(line)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "\"" {
                if quoted, index + 1 < characters.count, characters[index + 1] == "\"" {
                    field.append("\"")
                    index += 1
                } else {
                    quoted.toggle()
                }
            } else if character == ",", !quoted {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
            index += 1
        }
        return fields + [field]
    }
}
