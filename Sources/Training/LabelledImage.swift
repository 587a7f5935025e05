import Foundation
import Segmentation
import SlideIO

/// One training or evaluation image with its binary mask (1 = foreground), and the case it belongs to.
public struct LabelledImage: Sendable {
    public let name: String
    /// Images of one case (a patient, a slide) stay together on one side of the train/validation split.
    public let caseID: String
    public let image: RGBImage
    public let mask: [UInt8]
    /// The image's µm per pixel, when its file declares one (TIFF: Aperio, OME, resolution tags).
    public var micronsPerPixel: Double? = nil
}

/// A directory of labelled images in either layout:
/// - BreCaHAD: `images/*.tif` + `groundTruth/NAME.json` (points normalised to [0, 1], drawn as circles);
/// - masks: `images/NAME.(tif|tiff|png)` + `masks/NAME.png` (non-zero = foreground).
public struct LabelledDataset: Sendable {
    public let images: [LabelledImage]
    public let layout: String

    public static func load(directory: String, truth: GroundTruthOptions = GroundTruthOptions()) throws(SlideError) -> LabelledDataset {
        let root = URL(fileURLWithPath: directory)
        let imageDirectory = root.appendingPathComponent("images").path
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: imageDirectory) else {
            throw SlideError(path: imageDirectory, reason: "no images/ directory (expected images/ with groundTruth/ or masks/)")
        }
        let breCaHAD = FileManager.default.fileExists(atPath: root.appendingPathComponent("groundTruth").path)
        var images: [LabelledImage] = []
        for file in names.sorted() where !file.hasPrefix(".") {
            let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            let path = URL(fileURLWithPath: imageDirectory).appendingPathComponent(file).path
            let (image, micronsPerPixel) = try readImage(path)
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
