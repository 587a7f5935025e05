import Foundation
import TestSupport
import Testing
import SlideIO
import UNetCore
import UNetEngine
@testable import Training

@Suite struct TrainingTests {
    static let breCaHAD = Fixtures.path("brecahad_mini")

    func temporaryDirectory() throws -> String { try Fixtures.temporaryDirectory().path }

    @Test func breCaHADLayoutLoadsWithCasesAndCircleMasks() throws {
        let dataset = try LabelledDataset.load(directory: Self.breCaHAD)
        #expect(dataset.layout == "brecahad")
        #expect(dataset.images.map(\.name) == ["Case_1-01", "Case_1-02", "Case_1-03", "Case_1-04", "Case_2-01", "Case_2-02"])
        #expect(Set(dataset.images.map(\.caseID)) == ["Case_1", "Case_2"])
        for image in dataset.images {
            let positive = image.mask.filter { $0 == 1 }.count
            #expect(positive > 0 && positive < image.mask.count, "\(image.name)")
        }
        // A radius-20 disc has 1257 pixels; fewer points than positive pixels / 1257 would mean circles are missing.
        let first = dataset.images[0]
        #expect(first.mask.filter { $0 == 1 }.count > 20 * 1257 / 2)
    }

    @Test(arguments: [UInt64(0), 1, 2, 3])
    func splitKeepsEveryCaseOnOneSide(seed: UInt64) throws {
        let dataset = try LabelledDataset.load(directory: Self.breCaHAD)
        let (training, validation) = dataset.split(validationFraction: 0.5, seed: seed)
        #expect(training.count + validation.count == 6)
        #expect(Set(training.map(\.caseID)).isDisjoint(with: Set(validation.map(\.caseID))))
        #expect(!training.isEmpty && !validation.isEmpty)
    }

    @Test func augmentationIsSeededAndKeepsMasksBinary() throws {
        let image = try LabelledDataset.load(directory: Self.breCaHAD).images[0]
        let augmenter = Augmenter(tile: 48, preprocessing: Preprocessing())
        func draw(_ seed: UInt64) -> ([Float], [Float]) {
            var generator = SeededGenerator(seed: seed)
            var input = [Float](repeating: 0, count: 3 * 48 * 48), target = [Float](repeating: 0, count: 48 * 48)
            input.withUnsafeMutableBufferPointer { x in
                target.withUnsafeMutableBufferPointer { t in augmenter.sample(image, generator: &generator, input: x.baseAddress!, target: t.baseAddress!) }
            }
            return (input, target)
        }
        let a = draw(7), b = draw(7), c = draw(8)
        #expect(a.0 == b.0 && a.1 == b.1)
        #expect(a.0 != c.0)
        #expect(a.1.allSatisfy { $0 == 0 || $0 == 1 })
        #expect(a.0.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test func identityAugmentationCopiesTheImage() throws {
        // With every transform off, the tile is the image around a random centre, mask aligned with it.
        let image = try LabelledDataset.load(directory: Self.breCaHAD).images[4]
        let augmenter = Augmenter(tile: 32, preprocessing: Preprocessing(), enabled: false)
        var generator = SeededGenerator(seed: 3)
        var input = [Float](repeating: 0, count: 3 * 32 * 32), target = [Float](repeating: 0, count: 32 * 32)
        input.withUnsafeMutableBufferPointer { x in
            target.withUnsafeMutableBufferPointer { t in augmenter.sample(image, generator: &generator, input: x.baseAddress!, target: t.baseAddress!) }
        }
        let values = Set(input.map { ($0 * 255).rounded() })
        #expect(values.allSatisfy { $0 == $0.rounded() && $0 >= 0 && $0 <= 255 })
        #expect(values.count > 20)
    }

    func options(_ output: String, epochs: Int) -> TrainingOptions {
        var options = TrainingOptions(data: Self.breCaHAD, output: output)
        options.width = 2
        options.tile = 32
        options.batch = 4
        options.epochs = epochs
        options.samplesPerImage = 2
        options.validationFraction = 0.5
        options.seed = 11
        return options
    }

    @Test func resumeContinuesExactly() throws {
        let straight = try temporaryDirectory(), resumed = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: straight); try? FileManager.default.removeItem(atPath: resumed) }
        try Trainer(options: options(straight, epochs: 2)).run(resume: false)
        try Trainer(options: options(resumed, epochs: 1)).run(resume: false)
        let second = Trainer(options: options(resumed, epochs: 2))
        try second.run(resume: true)
        let a = try SafeTensors.read(url: URL(fileURLWithPath: straight + "/checkpoint.safetensors")).tensors
        let b = try SafeTensors.read(url: URL(fileURLWithPath: resumed + "/checkpoint.safetensors")).tensors
        #expect(a.keys.sorted() == b.keys.sorted())
        #expect(a.keys.contains { $0.hasPrefix("optimizer.exp_avg.") })
        for key in a.keys { #expect(a[key] == b[key], "\(key)") }
        #expect(second.history.map(\.epoch) == [1, 2])
        for name in ["best.safetensors", "history.jsonl", "curves.png"] {
            #expect(FileManager.default.fileExists(atPath: resumed + "/" + name), "\(name)")
        }
        // The checkpoint is also a loadable model.
        let model = try ModelFile.load(path: resumed + "/checkpoint.safetensors")
        #expect(model.metadata.provenance.epoch == 2)
        #expect(model.metadata.micronsPerPixel == nil, "the fixture's images declare no MPP")
    }

    @Test func theModelRecordsTheScaleAndClassItWasTrainedFor() throws {
        let output = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: output) }
        var settings = options(output, epochs: 1)
        settings.micronsPerPixel = 0.5
        settings.className = "Nucleus"
        try Trainer(options: settings).run(resume: false)
        let model = try ModelFile.load(path: output + "/best.safetensors")
        #expect(model.metadata.micronsPerPixel == 0.5 && model.metadata.foregroundClassName == "Nucleus")
        #expect(ModelSummary(model).text.contains("0.5 µm/px"))
    }

    @Test func masksLayoutLoads() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/masks", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("slides/histo_he.tif"), toPath: directory + "/images/field-1.tif")
        let writer = try PNGRowWriter(path: directory + "/masks/field-1.png", width: 500, height: 300, channels: 1)
        for y in 0..<300 { try [UInt8](repeating: y < 100 ? 255 : 0, count: 500).withUnsafeBufferPointer { try writer.write(row: $0) } }
        try writer.finish()
        try writer.publish()
        let dataset = try LabelledDataset.load(directory: directory)
        #expect(dataset.layout == "masks" && dataset.images.count == 1)
        #expect(dataset.images[0].mask.filter { $0 == 1 }.count == 50_000)
        #expect(dataset.images[0].caseID == "field")
    }
}
