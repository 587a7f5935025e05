import Foundation
import TestSupport
import Testing
@testable import UNetEngine

/// Inputs that crashed or leaked a model reader under scripts/fuzz.sh (or were written to show a trap the
/// fuzzer's stack pointed at), kept in Tests/Fixtures/fuzz/pth and fuzz/safetensors. Each is now refused
/// with a reason instead of trapping, leaking or exhausting memory.
@Suite struct FuzzRegressionTests {
    static let checkpoints: [(file: String, problem: String)] = [
        // ZIPFoundation's in-memory archive trapped reading at an offset past the end of the data.
        ("crash-zip-offset-past-end.pth", "its central directory (4278190141 bytes at 1880064) lies outside the file's 131 bytes"),
        // ZIPFoundation's in-memory archive leaked the whole file when it found no end record.
        ("leak-zip-without-end-record.pth", "no end of central directory record"),
        // Shape [2^40, 2^40]: its element count overflowed.
        ("crash-shape-count-overflow.pth", "has a negative size or too many elements"),
        // Size 3, stride 2^62: the view's extent overflowed.
        ("crash-stride-extent-overflow.pth", "needs more than 9223372036854775807 float32 elements"),
        // Offset 2^63 - 1: the view's extent overflowed.
        ("crash-offset-extent-overflow.pth", "needs more than 9223372036854775807 float32 elements"),
        // Shape [2^20, 2^20] with zero strides over one element: 2^40 floats allocated.
        ("oom-broadcast-view.pth", "a broadcast view, not a parameter"),
        // A list appended to itself (found as DUP, APPEND among the fuzzer's mutations): a reference
        // cycle, never freed.
        ("leak-list-cycle.pth", "pickle puts a list inside itself"),
    ]

    @Test(arguments: checkpoints)
    func checkpointIsRefused(file: String, problem: String) {
        let path = Fixtures.path("fuzz/pth/\(file)")
        do {
            _ = try ModelFile.load(path: path)
            Issue.record("\(file) loaded")
        } catch {
            #expect(error.problem.contains(problem), "\(error.problem)")
        }
    }

    /// 60,000 one-element tuples, each inside the next (a byte each): released recursively, level by
    /// level, they overflowed the stack. Made here rather than committed (60 KB of 0x85).
    @Test func deepNestingIsRefused() throws {
        let pickle: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 60_000) + [0x2E]
        let file = try Fixtures.temporaryDirectory().appendingPathComponent("deep.pth")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        try Data(TestZip.image([("archive/data.pkl", pickle, false)])).write(to: file)
        do {
            _ = try ModelFile.load(path: file.path)
            Issue.record("a 60,000-deep pickle loaded")
        } catch {
            #expect(error.problem.contains("pickle nests containers more than 100 deep"), "\(error.problem)")
        }
    }

    /// The other way to make a cycle: a list placed in another, then changed to hold it.
    @Test func cycleThroughAnotherListIsRefused() {
        // EMPTY_LIST, BINPUT 0, EMPTY_LIST, BINPUT 1, APPEND (outer holds inner), BINGET 1, BINGET 0, APPEND, STOP
        let pickle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x5D, 0x71, 0x01, 0x61, 0x68, 0x01, 0x68, 0x00, 0x61, 0x2E]
        do {
            _ = try RestrictedUnpickler.load(pickle)
            Issue.record("a cyclic pickle loaded")
        } catch {
            #expect(error.message.contains("after placing it inside another container"), "\(error.message)")
        }
    }

    static let safetensors: [(file: String, problem: String)] = [
        // Shape [2^32, 2^32]: its element count overflowed.
        ("crash-shape-count-overflow.safetensors", "has a negative size or too many elements"),
        // F64 × 2^61 elements: the byte count overflowed.
        ("crash-byte-count-overflow.safetensors", "needs 2305843009213693952 elements of 8 bytes"),
        // data_offsets [2^63 - 1, 2^63 - 1]: the end of the byte range overflowed.
        ("crash-offset-overflow.safetensors", "does not hold them within the file"),
        // data_offsets [1, -2^63]: the length of the byte range overflowed.
        ("crash-offset-negative.safetensors", "does not hold them within the file"),
    ]

    @Test(arguments: safetensors)
    func safetensorsIsRefused(file: String, problem: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("fuzz/safetensors/\(file)"))))
        do {
            _ = try SafeTensors.decode(bytes)
            Issue.record("\(file) decoded")
        } catch {
            #expect(error.message.contains(problem), "\(error.message)")
        }
    }

    /// Zero-element tensors can claim any width: 2^60 overflowed `16 × width` while the expected shapes
    /// were listed.
    @Test func implausibleWidthIsRefused() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("fuzz/safetensors/crash-width-overflow.safetensors"))))
        let tensors = try SafeTensors.decode(bytes).tensors
        do {
            _ = try UNetArchitecture.inferred(from: tensors)
            Issue.record("a width of 2^60 was inferred")
        } catch {
            #expect(error.message.contains("implausible U-Net: width 1152921504606846976"), "\(error.message)")
        }
    }
}
