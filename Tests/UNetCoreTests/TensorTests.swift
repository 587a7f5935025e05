import Foundation
import Testing
import UNetCore

@Suite struct TensorTests {
    @Test func reshapeKeepsScalars() {
        let tensor = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(tensor.reshaped([3, 2]).scalars == tensor.scalars)
        #expect(tensor.count == 6)
    }

    @Test func finiteness() {
        #expect(Tensor(shape: [2], scalars: [1, 2]).isFinite)
        #expect(!Tensor(shape: [2], scalars: [1, .nan]).isFinite)
        #expect(!Tensor(shape: [1], scalars: [.infinity]).isFinite)
    }

    @Test func atomicWriteReplacesWholeFileAndLeavesNoTemporary() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out.bin").path
        try AtomicFile.write(Array(repeating: 1, count: 100), to: path)
        try AtomicFile.write([7, 8, 9], to: path)
        #expect(FileManager.default.contents(atPath: path) == Data([7, 8, 9]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.bin"])
    }
}
