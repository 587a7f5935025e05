import Foundation
import Testing
import UNetCore

/// Area bounds with units and the separation a model declares: parsed, converted, stored and refused.
@Suite struct ObjectSettingsTests {
    @Test func areaBoundsTakePixelsOrSquareMicrons() {
        #expect(ObjectAreaLimit("8") == .pixels(8) && ObjectAreaLimit("8px") == .pixels(8) && ObjectAreaLimit(" 12.5 px") == .pixels(12.5))
        #expect(ObjectAreaLimit("10um2") == .squareMicrons(10) && ObjectAreaLimit("10µm²") == .squareMicrons(10) && ObjectAreaLimit("10 um^2") == .squareMicrons(10))
        #expect(ObjectAreaLimit("-1") == nil && ObjectAreaLimit("ten") == nil && ObjectAreaLimit("10mm2") == nil)
        // 10 µm² at 0.5 µm/px is 40 px; at 0.25 µm/px, 160 px; without a scale, unknown.
        #expect(ObjectAreaLimit.squareMicrons(10).pixels(micronsPerPixel: (0.5, 0.5)) == 40)
        #expect(ObjectAreaLimit.squareMicrons(10).pixels(micronsPerPixel: (0.25, 0.25)) == 160)
        #expect(ObjectAreaLimit.squareMicrons(10).pixels(micronsPerPixel: nil) == nil && ObjectAreaLimit.pixels(8).pixels(micronsPerPixel: nil) == 8)
        #expect(ObjectAreaLimit.squareMicrons(10).description == "10 µm²" && ObjectAreaLimit.pixels(8).description == "8 px")
    }

    @Test func separationParsesAndRoundTripsThroughMetadataJSON() throws {
        #expect(ObjectSeparation(parsing: "components") == .components)
        #expect(ObjectSeparation(parsing: "distance-transform") == .splitTouching)
        #expect(ObjectSeparation(parsing: "distance-map:0.2") == .distanceMap(dynamic: 0.2))
        #expect(ObjectSeparation(parsing: "distance-map:-1") == nil && ObjectSeparation(parsing: "watershed") == nil && ObjectSeparation(parsing: "components:1") == nil)
        for separation in [ObjectSeparation.components, .splitTouching, .trainedDistanceMap] {
            let data = try JSONEncoder().encode(separation)
            #expect(try JSONDecoder().decode(ObjectSeparation.self, from: data) == separation)
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ObjectSeparation.self, from: Data(#"{"method":"stardist"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ObjectSeparation.self, from: Data(#"{"method":"distance-map","dynamic":0}"#.utf8)) }
    }
}
