import Foundation
import Segmentation
import SlideIO
import UNetCore

/// One training or evaluation image with its binary mask (1 = foreground), and the case it belongs to.
/// With instance labels it also has one id per nucleus and the distance-map target derived from them.
public struct LabelledImage: Sendable {
    public let name: String
    /// Images of one case (a patient, a slide) stay together on one side of the train/validation split.
    public let caseID: String
    public let image: RGBImage
    public let mask: [UInt8]
    /// The image's µm per pixel, when its file declares one (TIFF: Aperio, OME, resolution tags).
    public var micronsPerPixel: Double? = nil
    /// One id per nucleus (0 background), when the labels are instances.
    public var instances: [Int32]? = nil
    /// What the network learns instead of `mask` when there are instances: round(255 × the distance map).
    public var target: [UInt8]? = nil
    /// Point truth (one x, y per nucleus, `NAME.points.csv`): scored by detection F1 only; `mask` is empty.
    public var points: [PointDetection.Point]? = nil

    public init(name: String, caseID: String, image: RGBImage, mask: [UInt8], micronsPerPixel: Double? = nil) {
        self.name = name
        self.caseID = caseID
        self.image = image
        self.mask = mask
        self.micronsPerPixel = micronsPerPixel
    }

    /// An image labelled nucleus by nucleus: the mask is every nucleus, the target their distance map.
    public init(name: String, caseID: String, image: RGBImage, instances: [Int32], micronsPerPixel: Double? = nil) {
        self.init(name: name, caseID: caseID, image: image, mask: instances.map { $0 == 0 ? 0 : 1 }, micronsPerPixel: micronsPerPixel)
        self.instances = instances
        target = DistanceMapTarget.make(instances: instances, width: image.width, height: image.height)
    }
}

/// A directory of labelled images in any of these layouts:
/// - BreCaHAD: `images/*.tif` + `groundTruth/NAME.json` (points normalised to [0, 1], drawn as circles);
/// - masks: `images/NAME.(tif|tiff|png)` + `masks/NAME.png` (non-zero = foreground), or
///   `masks/NAME_inst.png` (an 8- or 16-bit instance map, one id per nucleus) or `masks/NAME.geojson`
///   (a QuPath export of nucleus polygons) in its place;
/// - instances: `NAME.png` beside `NAME_inst.png` in one directory (the DSB 2018 / BBBC038 layout);
/// - points: `NAME.png` (or `.tif`) beside `NAME.points.csv`, one `x,y` per nucleus in pixels (for
///   evaluation by detection F1).
public struct LabelledDataset: Sendable {
    public let images: [LabelledImage]
    public let layout: String

    public static func load(directory: String, truth: GroundTruthOptions = GroundTruthOptions()) throws(SlideError) -> LabelledDataset {
        let root = URL(fileURLWithPath: directory)
        let imageDirectory = root.appendingPathComponent("images").path
        if !FileManager.default.fileExists(atPath: imageDirectory),
           let flat = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            if flat.contains(where: { $0.hasSuffix("_inst.png") }) { return try loadInstances(directory: directory, names: flat) }
            if flat.contains(where: { $0.hasSuffix(".points.csv") }) { return try loadPoints(directory: directory, names: flat) }
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: imageDirectory) else {
            throw SlideError(path: imageDirectory, reason: "no images/ directory (expected images/ with groundTruth/ or masks/)")
        }
        let breCaHAD = FileManager.default.fileExists(atPath: root.appendingPathComponent("groundTruth").path)
        var images: [LabelledImage] = []
        for file in names.sorted() where !file.hasPrefix(".") {
            let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            let path = URL(fileURLWithPath: imageDirectory).appendingPathComponent(file).path
            let (image, micronsPerPixel) = try readImage(path)
            let instancePath = root.appendingPathComponent("masks/\(stem)_inst.png").path
            let polygonPath = root.appendingPathComponent("masks/\(stem).geojson").path
            if !breCaHAD, FileManager.default.fileExists(atPath: instancePath) || FileManager.default.fileExists(atPath: polygonPath) {
                let instances = FileManager.default.fileExists(atPath: instancePath)
                    ? try readInstances(instancePath, width: image.width, height: image.height)
                    : try GeoJSONInstances.read(polygonPath, width: image.width, height: image.height)
                images.append(LabelledImage(name: stem, caseID: caseID(of: stem), image: image, instances: instances, micronsPerPixel: micronsPerPixel))
                continue
            }
            let mask: [UInt8]
            if breCaHAD {
                let truthPath = root.appendingPathComponent("groundTruth/\(stem).json").path
                guard let ground = try GroundTruth.locate(for: path, width: image.width, height: image.height,
                                                          options: GroundTruthOptions(path: truthPath, classes: truth.classes, radius: truth.radius)) else {
                    throw SlideError(path: truthPath, reason: "ground truth missing")
                }
                mask = rasterise(ground, width: image.width, height: image.height)
            } else {
                let maskPath = root.appendingPathComponent("masks/\(stem).png").path
                let gray = try PNGImage.readGray(maskPath)
                guard gray.width == image.width, gray.height == image.height else {
                    throw SlideError(path: maskPath, reason: "mask is \(gray.width)×\(gray.height) but the image is \(image.width)×\(image.height)")
                }
                mask = gray.pixels.map { $0 == 0 ? 0 : 1 }
            }
            images.append(LabelledImage(name: stem, caseID: caseID(of: stem), image: image, mask: mask, micronsPerPixel: micronsPerPixel))
        }
        guard !images.isEmpty else { throw SlideError(path: imageDirectory, reason: "no images") }
        return LabelledDataset(images: images, layout: breCaHAD ? "brecahad" : "masks")
    }

    /// The flat layout: every `NAME_inst.png` with its `NAME.png` (or `.tif`) beside it.
    static func loadInstances(directory: String, names: [String]) throws(SlideError) -> LabelledDataset {
        let images = try loadFlat(directory: directory, names: names, labelSuffix: "_inst.png") { (stem, image, mpp, labelPath) throws(SlideError) in
            LabelledImage(name: stem, caseID: caseID(of: stem), image: image,
                          instances: try readInstances(labelPath, width: image.width, height: image.height), micronsPerPixel: mpp)
        }
        return LabelledDataset(images: images, layout: "instances")
    }

    /// The points layout: every `NAME.points.csv` with its image beside it.
    static func loadPoints(directory: String, names: [String]) throws(SlideError) -> LabelledDataset {
        let images = try loadFlat(directory: directory, names: names, labelSuffix: ".points.csv") { (stem, image, mpp, labelPath) throws(SlideError) in
            var item = LabelledImage(name: stem, caseID: caseID(of: stem), image: image,
                                     mask: [UInt8](repeating: 0, count: image.width * image.height), micronsPerPixel: mpp)
            item.points = try readPoints(labelPath)
            return item
        }
        return LabelledDataset(images: images, layout: "points")
    }

    /// Every `NAME<labelSuffix>` in `directory` with its image `NAME.png` (or `.tif`, `.tiff`) beside it,
    /// made into a labelled image by `make(name, image, its MPP, the label file's path)`.
    private static func loadFlat(directory: String, names: [String], labelSuffix: String,
                                 make: (String, RGBImage, Double?, String) throws(SlideError) -> LabelledImage) throws(SlideError) -> [LabelledImage] {
        let root = URL(fileURLWithPath: directory)
        var images: [LabelledImage] = []
        for file in names.sorted() where file.hasSuffix(labelSuffix) && !file.hasPrefix(".") {
            let stem = String(file.dropLast(labelSuffix.count))
            let labelPath = root.appendingPathComponent(file).path
            guard let imageFile = ["png", "tif", "tiff"].map({ "\(stem).\($0)" }).first(where: names.contains) else {
                throw SlideError(path: labelPath, reason: "no image \(stem).png beside these labels")
            }
            let (image, micronsPerPixel) = try readImage(root.appendingPathComponent(imageFile).path)
            images.append(try make(stem, image, micronsPerPixel, labelPath))
        }
        guard !images.isEmpty else { throw SlideError(path: directory, reason: "no images") }
        return images
    }

    /// `x,y` per line (a header line and further columns are allowed), in pixels.
    static func readPoints(_ path: String) throws(SlideError) -> [PointDetection.Point] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SlideError(path: path, reason: "cannot read points") }
        var points: [PointDetection.Point] = []
        for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 2, let x = Double(fields[0]), let y = Double(fields[1]), x.isFinite, y.isFinite else {
                if number == 0 { continue }  // a header
                throw SlideError(path: path, reason: "line \(number + 1) is not x,y: \(line.prefix(60))")
            }
            points.append(PointDetection.Point(x: x, y: y))
        }
        return points
    }

    static func readInstances(_ path: String, width: Int, height: Int) throws(SlideError) -> [Int32] {
        let map = try PNGImage.readLabels(path)
        guard map.width == width, map.height == height else {
            throw SlideError(path: path, reason: "instance map is \(map.width)×\(map.height) but the image is \(width)×\(height)")
        }
        return map.labels.map { Int32($0) }
    }

    /// Whether the images carry instance labels (then the model learns a distance map).
    public var hasInstances: Bool { images.contains { $0.instances != nil } }

    /// The images' common µm per pixel: their mean when every image declares one and they agree within 2%.
    public var commonMicronsPerPixel: Double? {
        let values = images.compactMap(\.micronsPerPixel)
        guard values.count == images.count, let low = values.min(), let high = values.max(), high <= low * 1.02 else { return nil }
        return values.reduce(0, +) / Double(values.count)
    }

    /// BreCaHAD names images `Case_N-XX`: the case is the part before the first '-'.
    static func caseID(of name: String) -> String { String(name.split(separator: "-", maxSplits: 1).first ?? Substring(name)) }

    static func readImage(_ path: String) throws(SlideError) -> (RGBImage, micronsPerPixel: Double?) {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "tif", "tiff", "svs":
            let slide = try TIFFSlide(path: path)
            return (try slide.readAll(), slide.physicalScale?.micronsPerPixelX)
        case "png": return (try PNGImage.readRGB(path), nil)
        default: throw SlideError(path: path, reason: "unsupported image type (use .tif, .tiff or .png)")
        }
    }

    static func rasterise(_ truth: GroundTruth, width: Int, height: Int) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: width * height)
        var row = [Bool](repeating: false, count: width)
        for y in 0..<height {
            row.withUnsafeMutableBufferPointer { truth.fill(row: y, into: $0) }
            for x in 0..<width where row[x] { mask[y * width + x] = 1 }
        }
        return mask
    }

    /// Splits by case, seeded: a case's images are all in training or all in validation, so no
    /// augmented copy of a validation image is ever trained on.
    public func split(validationFraction: Double, seed: UInt64) -> (training: [LabelledImage], validation: [LabelledImage]) {
        var cases = Array(Set(images.map(\.caseID))).sorted()
        var generator = SeededGenerator(seed: seed, stream: 1)
        cases.shuffle(using: &generator)
        let count = cases.count < 2 || validationFraction <= 0 ? 0 : min(cases.count - 1, max(1, Int((Double(cases.count) * validationFraction).rounded())))
        let validationCases = Set(cases.prefix(count))
        return (images.filter { !validationCases.contains($0.caseID) }, images.filter { validationCases.contains($0.caseID) })
    }
}
