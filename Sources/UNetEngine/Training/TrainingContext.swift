/// Per-worker scratch for training: images of a batch are spread over workers, each calling
/// OpenBLAS single-threaded with its own im2col buffers and its own partial weight gradients,
/// which are summed once per layer (no races, deterministic for a fixed worker count).
final class TrainingContext: Sendable {
    let parallel: ParallelBands
    let serial = ParallelBands(workers: 1)
    let columnCapacity: Int
    private let columnBuffers: [FloatBuffer]
    private let columnGradientBuffers: [FloatBuffer]
    private let weightPartials: [FloatBuffer]
    private let biasPartials: [FloatBuffer]

    init(workers: Int, columnCapacity: Int, largestWeight: Int, largestBias: Int) {
        parallel = ParallelBands(workers: workers)
        self.columnCapacity = columnCapacity
        columnBuffers = (0..<workers).map { _ in FloatBuffer(columnCapacity) }
        columnGradientBuffers = (0..<workers).map { _ in FloatBuffer(columnCapacity) }
        weightPartials = (0..<workers).map { _ in FloatBuffer(largestWeight) }
        biasPartials = (0..<workers).map { _ in FloatBuffer(largestBias) }
    }

    func columns(_ worker: Int) -> UnsafeMutablePointer<Float> { columnBuffers[worker].pointer }

    /// Runs `body(worker, image)` for every image of the batch, images split across workers.
    func forEachImage(_ batch: Int, _ body: (Int, Int) -> Void) {
        parallel.split(count: batch) { worker, images in
            for image in images { body(worker, image) }
        }
    }

    /// Backward of `conv` over a batch: parameter gradients accumulate into `parameters`,
    /// the input gradient (when wanted) is overwritten.
    func convolutionBackward(_ conv: Conv2D, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                             inputGradient: UnsafeMutablePointer<Float>?, batch: Int, height: Int, width: Int,
                             weightGradient: Int, biasGradient: Int?, parameters: inout ParameterSet) {
        let plane = height * width, weightCount = conv.weight.count, biasCount = conv.outputChannels
        let workers = min(parallel.workers, batch)
        for w in 0..<workers {
            weightPartials[w].pointer.update(repeating: 0, count: weightCount)
            biasPartials[w].pointer.update(repeating: 0, count: biasCount)
        }
        forEachImage(batch) { worker, n in
            conv.backward(input: input + n * conv.inputChannels * plane, outputGradient: outputGradient + n * conv.outputChannels * plane,
                          height: height, width: width, inputGradient: inputGradient.map { $0 + n * conv.inputChannels * plane },
                          weightGradient: weightPartials[worker].pointer, biasGradient: biasGradient == nil ? nil : biasPartials[worker].pointer,
                          columns: columnBuffers[worker].pointer, columnGradient: columnGradientBuffers[worker].pointer,
                          columnCapacity: columnCapacity)
        }
        for w in 0..<workers {
            parameters.gradients[weightGradient].withUnsafeMutableBufferPointer { g in
                for i in 0..<weightCount { g[i] += weightPartials[w].pointer[i] }
            }
            if let biasGradient {
                parameters.gradients[biasGradient].withUnsafeMutableBufferPointer { g in
                    for i in 0..<biasCount { g[i] += biasPartials[w].pointer[i] }
                }
            }
        }
    }
}
