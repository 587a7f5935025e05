import Foundation
import SlideIO
import UNetCore
import UNetEngine

/// Everything decided about a slide before its first tile: the scale the network sees it at, the tile
/// grid, where the outputs go, the ground truth beside it, its tissue and stains, which objects to
/// keep, and the open output writers.
struct SegmentationPlan {
    let slidePath: String
    let slide: TIFFSlide
    let preprocessing: Preprocessing
    let threshold: Float
    let choice: ScaleChoice
    /// Network pixels per slide pixel.
    var scale: Double { choice.inputScale }
    let networkWidth: Int, networkHeight: Int
    let grid: TileGrid
    let paths: OutputPaths
    let truth: GroundTruth?
    /// One pass over the slide: its tissue (for the tissue area) and a sample of its stains.
    let survey: TissueDetector
    /// The survey when glass is to be skipped, else nil.
    var tissue: TissueDetector? { skipBackground ? survey : nil }
    let skipBackground: Bool
    let stainVectors: StainVectors
    var warnings: [String]
    var objectFilter: ObjectFilter
    let outputs: SlideOutputs
    /// Seconds spent reading the slide while planning (opening it, the survey).
    let decodeSeconds: Double

    init(model: ModelFile, slidePath: String, outputDirectory: String, options: SegmentationOptions,
         outputName: String?) throws(SlideError) {
        let clock = ContinuousClock(), started = clock.now
        self.slidePath = slidePath
        slide = try TIFFSlide(path: slidePath, limits: options.limits)
        let metadata = model.metadata
        var preprocessing = metadata.preprocessing
        if let order = options.channelOrder { preprocessing.channelOrder = order }
        self.preprocessing = preprocessing
        threshold = options.threshold ?? metadata.threshold
        choice = try ScaleChoice(slidePath: slidePath, fileScale: slide.physicalScale, modelMPP: metadata.micronsPerPixel,
                                 modelInputScale: metadata.inputScale, options: options)
        networkWidth = max(1, Int((Double(slide.width) * choice.inputScale).rounded()))
        networkHeight = max(1, Int((Double(slide.height) * choice.inputScale).rounded()))
        grid = TileGrid(imageWidth: networkWidth, imageHeight: networkHeight, maximumTile: options.tile, overlap: options.overlap,
                        multiple: UNet.minimumInputSide)

        var kinds = OutputKind.resolve(options.outputs, width: slide.width, height: slide.height)
        if options.writeProbabilities { kinds.insert(.prob) }
        paths = OutputPaths(slide: slidePath, directory: outputDirectory, kinds: kinds, name: outputName)
        truth = try GroundTruth.locate(for: slidePath, width: slide.width, height: slide.height, options: options.truth)
        try Self.checkOutputsSpareInputs(paths, inputs: [slidePath] + (truth.map { [$0.path] } ?? []))
        survey = try TissueDetector(slide: slide)
        skipBackground = options.skipBackground
        stainVectors = StainVectors.macenko(rgb: survey.stainSample)
        warnings = choice.warnings
        let separation = metadata.objects ?? (options.splitTouching ? .splitTouching : .components)
        objectFilter = ObjectFilter.resolve(minimum: options.minimumObjectArea, maximum: options.maximumObjectArea,
                                            separation: separation, scale: choice.slide, warnings: &warnings)
        decodeSeconds = (clock.now - started).seconds
        let objects = ObjectDescription(objectType: options.objectType, className: metadata.foregroundClassName,
                                        minimumArea: objectFilter.minimumAreaPixels, maximumArea: objectFilter.maximumAreaPixels,
                                        separation: separation)
        outputs = try SlideOutputs(paths: paths, width: slide.width, height: slide.height, threshold: threshold,
                                   overlayMaximumSide: options.overlayMaximumSide, truth: truth, scale: choice.slide, objects: objects,
                                   stains: stainVectors)
    }

    private static func checkOutputsSpareInputs(_ paths: OutputPaths, inputs: [String]) throws(SlideError) {
        let resolved = Set(inputs.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path })
        for output in paths.all where resolved.contains(URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path) {
            throw SlideError(path: output, reason: "output would overwrite an input; choose another --out directory")
        }
    }
}
