import Foundation
import TestSupport
import Testing
import SlideIO
import UNetEngine
@testable import Segmentation

/// bf16 inference on the bundled real H&E slides through the shipped default model (a trained
/// network, so its masks mean something): masks agree on ≥ 99.5% of pixels, Dice between them ≥ 0.99,
/// and max |Δprob| ≤ 0.02, or within 10% of PyTorch's own bf16 autocast where even that exceeds 0.02
/// (tia_he: 0.0597, half_glass: 0.0433; Tests/Fixtures/engine/bf16_reference.json, scripts/make_bf16_reference.py).
/// The portable bf16 path, so it runs on every CPU.
@Suite struct BFloat16SegmentationTests {
    static let defaultModel = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/DefaultModel/Resources/default-model.safetensors").path

    @Test(arguments: ["slides/tia_he.tif", "slides/histo_he.tif", "slides/half_glass.tif"])
    func bf16AgreesWithFP32OnRealSlides(slide: String) throws {
        let model = try ModelFile.load(path: Self.defaultModel)
        let image = try TIFFSlide(path: Fixtures.path(slide)).readAll()
        func probabilities(_ precision: Precision) throws -> [Float] {
            try ImagePredictor(network: model.network(precision: precision), preprocessing: model.metadata.preprocessing, threads: 2)
                .probabilities(image)
        }
        let single = try probabilities(.fp32), half = try probabilities(.bf16)
        let worst = zip(single, half).map { abs($0 - $1) }.max()!
        let pytorch = try #require(try Self.pytorchReference()[slide]?["max_abs_dprob"])
        #expect(Double(worst) <= max(0.02, 1.1 * pytorch), "max |Δprob| \(worst); PyTorch's autocast \(pytorch)")
        let threshold = model.metadata.threshold
        var agree = 0, both = 0, either = 0
        for (a, b) in zip(single, half) {
            let p = a >= threshold, q = b >= threshold
            agree += p == q ? 1 : 0
            both += p && q ? 1 : 0
            either += (p ? 1 : 0) + (q ? 1 : 0)
        }
        let agreement = Double(agree) / Double(single.count), dice = either == 0 ? 1 : 2 * Double(both) / Double(either)
        #expect(agreement >= 0.995, "masks agree on \(agreement)")
        #expect(dice >= 0.99, "Dice between the masks \(dice)")
    }

    /// Slide → PyTorch's autocast-vs-fp32 figures.
    static func pytorchReference() throws -> [String: [String: Double]] {
        struct Reference: Decodable { var slides: [String: [String: Double]] }
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.engine("bf16_reference.json")))
        return try JSONDecoder().decode(Reference.self, from: data).slides
    }
}
