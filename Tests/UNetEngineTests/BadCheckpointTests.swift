import Foundation
import TestSupport
import Testing
@testable import UNetEngine

/// Every malformed model file is refused with a message that names the problem; none crashes or hangs.
@Suite struct BadCheckpointTests {
    static let cases: [(file: String, problem: String)] = [
        ("truncated.pth", "not a readable zip archive"),
        ("not_a_zip.pth", "neither a PyTorch checkpoint"),
        ("no_data_pkl.pth", "without data.pkl"),
        ("evil_global.pth", "refused: the pickle references the global 'posix.system'"),
        ("short_tensor_data.pth", "truncated tensor data"),
        ("nan_weight.pth", "inc.double_conv.0.weight contains NaN"),
        ("wrong_layout.pth", "unknown layout"),
        ("inconsistent_shapes.pth", "down1.maxpool_conv.1.double_conv.0.weight has shape [8, 5, 3, 3]"),
    ]

    @Test(arguments: cases)
    func refusedWithReason(file: String, problem: String) {
        let path = Fixtures.engine("bad/\(file)")
        do {
            _ = try ModelFile.load(path: path)
            Issue.record("\(file) loaded")
        } catch {
            #expect(error.path == path)
            #expect(error.problem.contains(problem), "\(error.problem)")
        }
    }

    @Test func maliciousPickleRunsNothing() {
        _ = try? ModelFile.load(path: Fixtures.engine("bad/evil_global.pth"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/unet_pwned"))
    }

    @Test func emptyAndMissingFiles() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.pth").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: ModelFileError.self) { try ModelFile.load(path: empty) }
        #expect(throws: ModelFileError.self) { try ModelFile.load(path: directory.appendingPathComponent("absent.pth").path) }
    }

    @Test func safetensorsHeaderLyingAboutItsLengthIsRefused() {
        var bytes = SafeTensors.encode(tensors: ["x": .init(zeros: [2, 2])], metadata: [:])
        bytes[0] = 0xFF; bytes[1] = 0xFF  // header length far past the end
        #expect(throws: CheckpointProblem.self) { try SafeTensors.decode(bytes) }
        let truncated = Array(SafeTensors.encode(tensors: ["x": .init(zeros: [64])], metadata: [:]).dropLast(8))
        #expect(throws: CheckpointProblem.self) { try SafeTensors.decode(truncated) }
    }

    @Test(arguments: ["evil_global.pth", "truncated.pth", "wrong_layout.pth"])
    func commandLineSaysOneErrorLine(file: String) throws {
        let result = try Fixtures.run(Fixtures.executable("unet"), ["inspect", Fixtures.engine("bad/\(file)")])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("error: ") == true)
        #expect(result.stderr.contains(file))
    }
}
