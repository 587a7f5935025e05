@testable import UNetEngine

extension Conv2D {
    /// This convolution by im2col + OpenBLAS, the path the golden tests prove against PyTorch: the
    /// reference the faster kernels are checked against.
    func referenceOutput(_ input: [Float], height: Int, width: Int, relu: Bool) -> [Float] {
        let parallel = ParallelBands(workers: 2)
        let scratchPerWorker = columnRows * width * bandRows(height: height, width: width)
        var scratch = [Float](repeating: 0, count: 2 * scratchPerWorker)
        var output = [Float](repeating: 0, count: outputChannels * height * width)
        input.withUnsafeBufferPointer { x in
            scratch.withUnsafeMutableBufferPointer { s in
                output.withUnsafeMutableBufferPointer { y in
                    forward(input: x.baseAddress!, height: height, width: width, output: y.baseAddress!, relu: relu,
                            scratch: s.baseAddress!, columnsPerWorker: scratchPerWorker, parallel: parallel)
                }
            }
        }
        return output
    }
}
