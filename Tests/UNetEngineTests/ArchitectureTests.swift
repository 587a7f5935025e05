import TestSupport
import Testing
import UNetCore
@testable import UNetEngine

@Suite struct ArchitectureTests {
    /// Parameter counts PyTorch reports for milesial's UNet(3, 2) — `sum(p.numel() for p in model.parameters())`.
    @Test func parameterCountsMatchMilesial() {
        #expect(UNetArchitecture(width: 64, upsampling: .transposed, classes: 2).parameterCount == 31_037_698)
        #expect(UNetArchitecture(width: 64, upsampling: .bilinear, classes: 2).parameterCount == 17_263_042)
    }

    @Test func inferredFromKeysAndShapes() throws {
        let bilinear = try ModelFile.load(path: Fixtures.engine("milesial_bilinear_c2_mask_values.pth")).metadata.architecture
        #expect(bilinear == UNetArchitecture(inputChannels: 3, width: 4, upsampling: .bilinear, classes: 2, convolutionBias: false))
        let transposed = try ModelFile.load(path: Fixtures.engine("dataparallel_transposed_c1.pth")).metadata.architecture
        #expect(transposed == UNetArchitecture(inputChannels: 3, width: 4, upsampling: .transposed, classes: 1, convolutionBias: true))
    }

    @Test func trainingCheckpointProvenanceIsKept() throws {
        let model = try ModelFile.load(path: Fixtures.engine("ref_bilinear_c1_bias.pth"))
        #expect(model.metadata.provenance.epoch == 7)
        #expect(model.metadata.provenance.metrics["accuracy"] == 0.8984)
        #expect(model.metadata.provenance.metrics["loss"] == 0.3141)
    }

    @Test func missingTensorIsNamed() throws {
        var tensors = try ModelFile.load(path: Fixtures.engine("bare_transposed_c2.pth")).tensors
        tensors["up2.up.bias"] = nil
        #expect(throws: CheckpointProblem.self) { try UNetArchitecture.inferred(from: tensors) }
        do { _ = try UNetArchitecture.inferred(from: tensors) } catch { #expect(error.message.contains("missing tensor up2.up.bias")) }
    }

    @Test func paddingFollowsFPad() {
        // F.pad(x, [dx//2, dx-dx//2, ...]) with Python floor division, also for negative differences.
        #expect(PaddedPlacement(source: 10, 10, into: 11, 13).top == 0)
        #expect(PaddedPlacement(source: 10, 10, into: 11, 13).left == 1)
        #expect(PaddedPlacement(source: 12, 12, into: 11, 11).top == -1)
    }
}
