import Foundation
import SlideIO
import UNetCore

/// What a feature says about the objects' class and the objects themselves (QuPath's GeoJSON properties).
public struct ObjectDescription: Sendable, Equatable {
    /// QuPath `objectType`: detections are light-weight and many; annotations can be edited.
    public enum ObjectType: String, Sendable, CaseIterable { case detection, annotation }

    public var objectType: ObjectType
    public var className: String
    public var color: (red: UInt8, green: UInt8, blue: UInt8)
    /// Objects with fewer level-0 pixels are left out of every list of objects.
    public var minimumArea: Double
    /// Objects with more level-0 pixels are left out too (nil: no upper bound).
    public var maximumArea: Double?
    /// How foreground regions become objects (split into touching nuclei or not).
    public var separation: ObjectSeparation

    public init(objectType: ObjectType = .detection, className: String = "Foreground",
                color: (red: UInt8, green: UInt8, blue: UInt8) = (0, 200, 0), minimumArea: Double = 0, maximumArea: Double? = nil,
                separation: ObjectSeparation = .components) {
        self.objectType = objectType
        self.className = className
        self.color = color
        self.minimumArea = minimumArea
        self.maximumArea = maximumArea
        self.separation = separation
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.objectType == b.objectType && a.className == b.className && a.minimumArea == b.minimumArea && a.maximumArea == b.maximumArea
            && a.separation == b.separation
            && a.color.red == b.color.red && a.color.green == b.color.green && a.color.blue == b.color.blue
    }
}

/// `NAME.geojson` and `NAME.objects.csv`, written as objects complete (band by band, never the
/// whole mask): one GeoJSON feature and one CSV row per object (a connected foreground region, or
/// one nucleus of it when the description's separation splits them), in the same order,
/// sharing a UUID. The feature layout is what QuPath's importer reads (qupath-core
/// `PathObjectTypeAdapters`): a UUID `id` kept as the object's id (v0.4+), `properties.objectType`
/// (`detection`/`annotation`), `classification` `{name, color: [r, g, b]}`, and `measurements` as a
/// flat name → number object (the v0.4+ form; older versions wrote a list of `{name, value}`).
final class ObjectWriter {
    /// Per-object measurements under QuPath's names (cell detection's, v0.4+), in file order; the µm
    /// ones are absent when the MPP is unknown, the stain ones when the slide's colours were not read.
    static let measurementNames = [
        "Nucleus: Area px", "Nucleus: Area µm^2", "Nucleus: Perimeter µm", "Nucleus: Circularity", "Nucleus: Solidity",
        "Nucleus: Max caliper µm", "Nucleus: Min caliper µm", "Nucleus: Eccentricity",
        "Nucleus: Hematoxylin OD mean", "Nucleus: Hematoxylin OD std dev", "Nucleus: Hematoxylin OD max", "Nucleus: Eosin OD mean",
        "Mean probability",
    ]
    static let csvHeader = (["id", "classification", "centroid_x", "centroid_y"] + measurementNames
        + ["bbox_x", "bbox_y", "bbox_width", "bbox_height"]).joined(separator: ",") + "\n"

    private let geojson: TextFileWriter?
    private let table: TextFileWriter?
    private let description: ObjectDescription
    private let scale: PhysicalScale?
    private var tracer = ObjectTracer()
    private let featurePrefix: String
    private let classField: String
    private(set) var count = 0
    /// Objects left out for being smaller than `minimumArea`, or larger than `maximumArea`.
    private(set) var droppedSmall = 0, droppedLarge = 0
    /// The objects written, summarised.
    private(set) var summary = NucleusSummary.Accumulator()
    /// CPU seconds spent measuring objects (shapes, stain figures, the summary).
    private(set) var measuringSeconds = 0.0
    /// Called with each object written and its number (1, 2, ...), as the files list it.
    var onWritten: ((TracedObject, Int32) -> Void)?
    /// Regions too large to split (see `ObjectTracer.maximumSplitArea`), written whole.
    var unsplitRegions: Int { tracer.unsplitLargeRegions }

    init(geojsonPath: String?, tablePath: String?, description: ObjectDescription, scale: PhysicalScale?) throws(SlideError) {
        geojson = try geojsonPath.map { (path) throws(SlideError) in try TextFileWriter(path: path) }
        table = try tablePath.map { (path) throws(SlideError) in try TextFileWriter(path: path) }
        self.description = description
        self.scale = scale
        tracer.separation = description.separation
        let name = String(decoding: (try? JSONEncoder().encode(description.className)) ?? Data("\"Foreground\"".utf8), as: UTF8.self)
        let c = description.color
        classField = CSVField.escaped(description.className)
        featurePrefix = "\"properties\":{\"objectType\":\"\(description.objectType.rawValue)\",\"classification\":{\"name\":\(name),"
            + "\"color\":[\(c.red),\(c.green),\(c.blue)]},\"measurements\":{"
        try geojson?.write("{\"type\":\"FeatureCollection\",\"features\":[")
        try table?.write(Self.csvHeader)
    }

    var paths: [String] { [geojson?.path, table?.path].compactMap { $0 } }
    var geojsonBytes: Int { geojson?.bytesWritten ?? 0 }

    /// `stains`: hematoxylin and eosin OD of the row's foreground pixels (see `StainDeconvolution`), or nil.
    func add(mask: UnsafeBufferPointer<UInt8>, probabilities: UnsafeBufferPointer<Float>,
             stains: UnsafeBufferPointer<SIMD2<Float>>? = nil) throws(SlideError) {
        try tracer.add(mask: mask, probabilities: probabilities, stains: stains, emit: write)
    }

    func finish() throws(SlideError) {
        try tracer.finish(emit: write)
        try geojson?.write("\n]}\n")
        try geojson?.finish()
        try table?.finish()
    }

    /// Renames both files into place, or neither.
    func publish() throws(SlideError) {
        try geojson?.publish()
        do throws(SlideError) { try table?.publish() } catch {
            if let geojson { unlink(geojson.path) }
            throw error
        }
    }

    private func write(_ object: TracedObject) throws(SlideError) {
        guard Double(object.area) >= description.minimumArea else { droppedSmall += 1; return }
        if let maximum = description.maximumArea, Double(object.area) > maximum { droppedLarge += 1; return }
        let id = UUID().uuidString.lowercased()
        let measured = measurements(of: object)
        if let geojson {
            // Written ring by ring, a few thousand points at a time: one region's outline can be millions of points.
            try geojson.write((count == 0 ? "\n" : ",\n") + "{\"type\":\"Feature\",\"id\":\"\(id)\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[")
            for (ringIndex, ring) in object.rings.enumerated() {
                try geojson.write(ringIndex == 0 ? "[" : ",[")
                for start in stride(from: 0, to: ring.count, by: 4096) {
                    let points = ring[start..<min(start + 4096, ring.count)]
                    try geojson.write((start == 0 ? "" : ",") + points.map { "[\(Self.number($0.x)),\(Self.number($0.y))]" }.joined(separator: ","))
                }
                try geojson.write("]")
            }
            let fields = zip(Self.measurementNames, measured).compactMap { name, value in value.map { "\"\(name)\":\(Self.number($0))" } }
            try geojson.write("]}," + featurePrefix + fields.joined(separator: ",") + "}}}")
        }
        if let table {
            let box = object.boundingBox
            let row = [id, classField, Self.number(object.centroidX), Self.number(object.centroidY)]
                + measured.map { $0.map(Self.number) ?? "" } + ["\(box.x)", "\(box.y)", "\(box.width)", "\(box.height)"]
            try table.write(row.joined(separator: ",") + "\n")
        }
        count += 1
        onWritten?(object, Int32(count))
    }

    /// `measurementNames`' values for one object (nil where not known), and the object counted into `summary`.
    private func measurements(of object: TracedObject) -> [Double?] {
        let start = OverlappedWork.threadCPUSeconds()
        defer { measuringSeconds += OverlappedWork.threadCPUSeconds() - start }
        let shape = ShapeMeasures(rings: object.rings.map { $0.map { SIMD2($0.x, $0.y) } })
        // Lengths in µm assume square pixels; where they are not, the mean side is used.
        let micronsPerPixel = scale.map { ($0.micronsPerPixelX + $0.micronsPerPixelY) / 2 }
        let areaMicrons = scale.map { shape.area * $0.micronsPerPixelX * $0.micronsPerPixelY }
        summary.add(areaPixels: shape.area, areaMicrons: areaMicrons, circularity: shape.circularity,
                    hematoxylinMean: object.stain?.hematoxylinMean)
        let stain = object.stain
        return [
            shape.area, areaMicrons, micronsPerPixel.map { shape.perimeter * $0 }, shape.circularity, shape.solidity,
            micronsPerPixel.map { shape.maximumCaliper * $0 }, micronsPerPixel.map { shape.minimumCaliper * $0 }, shape.eccentricity,
            stain?.hematoxylinMean, stain?.hematoxylinStandardDeviation, stain?.hematoxylinMaximum, stain?.eosinMean,
            object.meanProbability,
        ].map { value in value.flatMap { $0.isFinite ? Self.rounded($0) : nil } }  // QuPath reads numbers only
    }

    /// Measurements to 4 decimals (µm², µm, probability): what a person reads; coordinates stay exact.
    static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    /// Integers without a fraction, others in the shortest form that reads back exactly (valid JSON and CSV).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }
}
