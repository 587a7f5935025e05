import Foundation
import TestSupport
import Testing
import UNetCore
@testable import UNetEngine

/// One train-mode forward/backward and one Adam step against PyTorch (scripts/make_training_fixtures.py).
@Suite struct TrainingGradientTests {
    struct Case {
        let parameters: ParameterSet
        let golden: [String: Tensor]
        let architecture: UNetArchitecture
    }

    func load(_ name: String) throws -> Case {
        let golden = try SafeTensors.read(url: Fixtures.root.appendingPathComponent("training/\(name).safetensors")).tensors
        var stateDict: [String: Tensor] = [:]
        for (key, value) in golden where key.hasPrefix("param.") { stateDict[String(key.dropFirst(6))] = value }
        let architecture = try UNetArchitecture.inferred(from: stateDict)
        return Case(parameters: ParameterSet(architecture: architecture, stateDict: stateDict), golden: golden, architecture: architecture)
    }

    func run(_ testCase: Case, loss: TrainingLoss, workers: Int = 2) -> (loss: Float, parameters: ParameterSet) {
        var parameters = testCase.parameters
        let input = testCase.golden["input"]!, target = testCase.golden["target"]!
        let graph = UNetTrainingGraph(architecture: testCase.architecture, parameters: parameters, batch: input.shape[0],
                                      height: input.shape[2], width: input.shape[3], workers: workers)
        let value = input.scalars.withUnsafeBufferPointer { x in
            target.scalars.withUnsafeBufferPointer { t in graph.step(images: x.baseAddress!, targets: t.baseAddress!, loss: loss, parameters: &parameters) }
        }
        return (value, parameters)
    }

    /// Largest |a − b| relative to the tensor's scale (so tiny and large gradients are judged alike).
    func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
        let scale = max(expected.map { abs($0) }.max() ?? 0, 1e-6)
        return zip(actual, expected).map { abs($0 - $1) }.max()! / scale
    }

    /// A conv bias feeding BatchNorm has zero gradient in exact arithmetic (BN removes the mean);
    /// both sides hold only rounding noise there, so it is checked to be negligible, not matched.
    func feedsBatchNorm(_ key: String) -> Bool {
        key.contains("double_conv.") && (key.hasSuffix(".0.bias") || key.hasSuffix(".3.bias"))
    }

    func expectGradients(_ parameters: ParameterSet, _ golden: [String: Tensor], prefix: String) throws {
        for (i, key) in parameters.keys.enumerated() {
            let expected = try #require(golden["\(prefix).\(key)"]).scalars
            if feedsBatchNorm(key) {
                #expect(parameters.gradients[i].allSatisfy { abs($0) < 1e-5 } && expected.allSatisfy { abs($0) < 1e-5 }, "\(key)")
            } else {
                let error = relativeError(parameters.gradients[i], expected)
                #expect(error < 1e-3, "\(key): relative error \(error)")
            }
        }
    }

    @Test(arguments: ["train_bilinear", "train_transposed"])
    func gradientsMatchPyTorch(name: String) throws {
        let testCase = try load(name)
        let (loss, parameters) = run(testCase, loss: .bce)
        #expect(abs(loss - testCase.golden["loss"]!.scalars[0]) < 1e-5)
        try expectGradients(parameters, testCase.golden, prefix: "grad")
        for (key, value) in parameters.runningStatistics {
            let error = relativeError(value, try #require(testCase.golden["running.\(key)"]).scalars)
            #expect(error < 1e-5, "\(key): relative error \(error)")
        }
    }

    @Test(arguments: ["train_bilinear", "train_transposed"])
    func diceLossGradientsMatchPyTorch(name: String) throws {
        let testCase = try load(name)
        let (loss, parameters) = run(testCase, loss: .bceDice)
        #expect(abs(loss - testCase.golden["loss_dice"]!.scalars[0]) < 1e-5)
        try expectGradients(parameters, testCase.golden, prefix: "grad_dice")
    }

    @Test func adamStepMatchesPyTorch() throws {
        // PyTorch's own gradients through our Adam, so the update rule is judged on its own.
        let testCase = try load("train_bilinear")
        var parameters = testCase.parameters
        for (i, key) in parameters.keys.enumerated() { parameters.gradients[i] = try #require(testCase.golden["grad.\(key)"]).scalars }
        var adam = AdamOptimizer(learningRate: 1e-3, parameters: parameters)
        adam.update(&parameters)
        for (i, key) in parameters.keys.enumerated() {
            let expected = try #require(testCase.golden["after.\(key)"]).scalars
            let worst = zip(parameters.values[i], expected).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-7, "\(key): \(worst)")
        }
    }

    @Test func workerCountDoesNotChangeTheResult() throws {
        let testCase = try load("train_transposed")
        let one = run(testCase, loss: .bce, workers: 1), two = run(testCase, loss: .bce, workers: 2)
        for i in one.parameters.gradients.indices {
            #expect(relativeError(one.parameters.gradients[i], two.parameters.gradients[i]) < 1e-5)
        }
    }
}
