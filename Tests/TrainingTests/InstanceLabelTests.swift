import Foundation
import TestSupport
import Testing
import SlideIO
import UNetCore
import UNetEngine
@testable import Training

/// Instance labels on real data (../shared/data/nuclei: BBBC038v1, CC0): read exactly, turned into the
/// distance-map target, and trained into a model that says it is an instance model.
@Suite struct InstanceLabelTests {
    static let names = ["dsb2018_00ae65c1c663", "dsb2018_0121d6759c5a", "dsb2018_01d44a26f668"]

    /// The three tiles in the flat layout, in a fresh directory (copied at run time, not committed).
    static func flatDataset() throws -> String {
        let directory = try Fixtures.temporaryDirectory().path
        for name in names {
            for suffix in [".png", "_inst.png"] {
                try FileManager.default.copyItem(atPath: Fixtures.sharedData("nuclei/\(name)\(suffix)"), toPath: "\(directory)/\(name)\(suffix)")
            }
        }
        return directory
    }

    @Test func sixteenBitInstanceMapsReadAsStored() throws {
        // manifest.csv: 70 nuclei in the first tile, 86 in the second, 320 × 256.
        let first = try PNGImage.readLabels(Fixtures.sharedData("nuclei/dsb2018_00ae65c1c663_inst.png"))
        #expect(first.width == 320 && first.height == 256)
        #expect(Set(first.labels).subtracting([0]).count == 70 && first.labels.max() == 70)
        let second = try PNGImage.readLabels(Fixtures.sharedData("nuclei/dsb2018_0121d6759c5a_inst.png"))
        #expect(Set(second.labels).subtracting([0]).count == 86)
        #expect(throws: SlideError.self) { try PNGImage.readLabels(Fixtures.sharedData("nuclei/dsb2018_00ae65c1c663.png")) }
    }

    @Test func flatLayoutGivesInstancesAndTheDistanceTarget() throws {
        let directory = try Self.flatDataset()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let dataset = try LabelledDataset.load(directory: directory)
        #expect(dataset.layout == "instances" && dataset.hasInstances && dataset.images.map(\.name) == Self.names)
        let image = dataset.images[0]
        let instances = try #require(image.instances), target = try #require(image.target)
        #expect(zip(instances, target).allSatisfy { ($0 == 0) == ($1 == 0) })
        #expect(zip(instances, image.mask).allSatisfy { ($0 != 0) == ($1 == 1) })
        // Every nucleus peaks at 1 (255) and its pixels facing outside sit at 0.6 + 0.4 × 1/depth ≥ 0.6.
        for id in Set(instances).subtracting([0]) {
            let values = instances.indices.filter { instances[$0] == id }.map { target[$0] }
            #expect(values.max() == 255 && values.min()! >= 153, "nucleus \(id)")
        }
    }

    @Test func instanceLabelsTrainAnInstanceModelChosenByObjectF1() throws {
        let directory = try Self.flatDataset(), output = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory); try? FileManager.default.removeItem(atPath: output) }
        var options = TrainingOptions(data: directory, output: output)
        options.width = 2
        options.tile = 32
        options.batch = 2
        options.epochs = 1
        options.samplesPerImage = 1
        options.validationFraction = 0.34
        let trainer = Trainer(options: options)
        try trainer.run(resume: false)
        let record = try #require(trainer.history.first)
        let f1 = try #require(record.validationObjectF1)
        #expect(f1 >= 0 && f1 <= 1 && record.validationAJI != nil && record.validationPQ != nil && record.validationScore == f1)
        let best = try ModelFile.load(path: output + "/best.safetensors")
        #expect(best.metadata.objects == .trainedDistanceMap && best.metadata.provenance.metrics["val_object_f1"] == f1)
        #expect(try String(contentsOfFile: output + "/curves.svg", encoding: .utf8).contains("object F1"))
    }

    /// QuPath's GeoJSON: each polygon one nucleus, filled by pixel centres, holes left out; points skipped.
    @Test func geoJSONPolygonsBecomeInstances() throws {
        let directory = try Fixtures.temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let json = """
            {"type":"FeatureCollection","features":[
             {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1,1],[5,1],[5,5],[1,5],[1,1]],[[2,2],[3,2],[3,3],[2,3],[2,2]]]},"properties":{"objectType":"annotation"}},
             {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[6,0],[8,0],[8,2],[6,2],[6,0]]]]},"properties":{}},
             {"type":"Feature","geometry":{"type":"Point","coordinates":[9,9]},"properties":{}}]}
            """
        try json.write(toFile: directory + "/cells.geojson", atomically: true, encoding: .utf8)
        let labels = try GeoJSONInstances.read(directory + "/cells.geojson", width: 10, height: 10)
        #expect(labels.filter { $0 == 1 }.count == 16 - 1 && labels[2 * 10 + 2] == 0 && labels[1 * 10 + 1] == 1)
        #expect(labels.filter { $0 == 2 }.count == 4 && labels[0 * 10 + 6] == 2 && Set(labels) == [0, 1, 2])
        try "{}".write(toFile: directory + "/empty.geojson", atomically: true, encoding: .utf8)
        #expect(throws: SlideError.self) { try GeoJSONInstances.read(directory + "/empty.geojson", width: 10, height: 10) }
    }
}
