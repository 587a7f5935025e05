import Foundation
import SlideIO
import TestSupport
import Testing
import UNetCore
@testable import Segmentation

/// Shape measurements of real nuclei, taken on the outlines the GeoJSON carries, against scikit-image's
/// `regionprops` of the same instance map (`scripts/make_regionprops_reference.py`).
@Suite struct ShapeMeasuresTests {
    struct Reference: Decodable {
        struct Nucleus: Decodable {
            var label: Int32
            var area: Double
            var perimeter: Double
            var eccentricity: Double
            var solidity: Double
            var feret_diameter_max: Double
        }
        var nuclei: [Nucleus]
    }

    /// regionprops measures pixels (area as a count, perimeter as a 4-connected estimate, hull of the
    /// pixel squares); these measure the polygon the GeoJSON carries, along the pixels' outer edges with
    /// corners cut by half a pixel. regionprops' perimeter runs through the boundary pixels' centres, half a
    /// pixel inside, so it is shorter by about π px on a convex nucleus. Tolerances: area 8%; perimeter
    /// 10% + π px; eccentricity 0.05; solidity 0.06; maximum caliper 1.5 px.
    @Test func realNucleiMatchScikitImageWithinStatedTolerances() throws {
        let name = "dsb2018_0bf33d3db428"
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("measurements/regionprops_\(name).json"))))
        let map = try PNGImage.readLabels(Fixtures.sharedData("nuclei/\(name)_inst.png"))
        let labels = map.labels.map(Int32.init)
        let count = Int(labels.max() ?? 0)
        let pieces = TracedObject.pieces(labels: labels, count: count, probabilities: [Float](repeating: 1, count: labels.count),
                                         box: (0, 0, map.width, map.height))
        // `pieces` drops absent labels and keeps label order.
        let present = Set(labels).subtracting([0]).sorted()
        #expect(pieces.count == reference.nuclei.count && present.count == pieces.count)
        for (nucleus, piece) in zip(reference.nuclei, pieces) {
            let shape = ShapeMeasures(rings: piece.rings.map { $0.map { SIMD2($0.x, $0.y) } })
            #expect(Double(piece.area) == nucleus.area)
            #expect(abs(shape.area - nucleus.area) / nucleus.area < 0.08, "area \(nucleus.label): \(shape.area) vs \(nucleus.area)")
            #expect(abs(shape.perimeter - nucleus.perimeter) < 0.1 * nucleus.perimeter + .pi, "perimeter \(nucleus.label): \(shape.perimeter) vs \(nucleus.perimeter)")
            #expect(abs(shape.eccentricity - nucleus.eccentricity) < 0.05, "eccentricity \(nucleus.label): \(shape.eccentricity) vs \(nucleus.eccentricity)")
            #expect(abs(shape.solidity - nucleus.solidity) < 0.06, "solidity \(nucleus.label): \(shape.solidity) vs \(nucleus.solidity)")
            #expect(abs(shape.maximumCaliper - nucleus.feret_diameter_max) < 1.5, "caliper \(nucleus.label): \(shape.maximumCaliper) vs \(nucleus.feret_diameter_max)")
        }
    }
}
