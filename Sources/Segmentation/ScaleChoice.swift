import SlideIO
import UNetCore

/// The scale the network sees a slide at, and why: an explicit input scale wins; otherwise, under
/// `--mpp auto`, slide MPP / model MPP when both are known; otherwise the model's own input scale
/// (1 unless it declares one), with a warning when only one MPP is known.
struct ScaleChoice {
    var inputScale: Double
    /// The slide's scale as used (the flag's, or the file's).
    var slide: PhysicalScale?
    var modelMPP: Double?
    var warnings: [String] = []

    init(slidePath: String, fileScale: PhysicalScale?, modelMPP: Double?, modelInputScale: Double,
         options: SegmentationOptions) throws(SlideError) {
        slide = options.slideMPP.map { PhysicalScale(micronsPerPixelX: $0, source: .flag) } ?? fileScale
        self.modelMPP = modelMPP
        inputScale = modelInputScale
        if let explicit = options.inputScale {
            inputScale = explicit
        } else if options.mpp == .auto {
            switch (slide, modelMPP) {
            case let (slide?, model?):
                inputScale = slide.micronsPerPixelX / model
            case (nil, nil):
                if options.requireMPP {
                    throw SlideError(path: slidePath, reason: "neither the slide nor the model declares µm per pixel (--require-mpp); give --slide-mpp and convert the model with --mpp")
                }
            case (nil, _?):
                if options.requireMPP {
                    throw SlideError(path: slidePath, reason: "the slide declares no µm per pixel (--require-mpp); give it with --slide-mpp")
                }
                warnings.append("the slide declares no µm per pixel; ran at input scale \(modelInputScale), not at the model's \(modelMPP!) µm/px (give --slide-mpp)")
            case (let slide?, nil):
                if options.requireMPP {
                    throw SlideError(path: slidePath, reason: "the model declares no µm per pixel (--require-mpp); convert it with unet convert --mpp")
                }
                warnings.append("the model declares no µm per pixel; ran at input scale \(modelInputScale), slide at \(slide.micronsPerPixelX) µm/px (unet convert --mpp)")
            }
        }
        guard inputScale > 0, inputScale <= 4 else {
            throw SlideError(path: slidePath, reason: "input scale \(inputScale) is outside (0, 4]"
                             + (options.inputScale == nil && options.mpp == .auto ? " (slide MPP / model MPP); check --slide-mpp or use --mpp off" : ""))
        }
        if let slide, abs(slide.micronsPerPixelX - slide.micronsPerPixelY) > 0.01 * slide.micronsPerPixelX {
            warnings.append("pixels are not square (\(slide.micronsPerPixelX) × \(slide.micronsPerPixelY) µm); the x size was used")
        }
    }
}
