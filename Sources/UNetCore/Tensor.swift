/// A dense float32 tensor in row-major (C-contiguous) order, the layout PyTorch uses for NCHW.
///
/// Value semantics (copy-on-write through `Array`); hot loops work on raw pointers obtained with
/// `withUnsafeBufferPointer` rather than on this type.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    /// Creates a tensor; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(Tensor.elementCount(of: shape) == scalars.count,
                     "shape \(shape) needs \(Tensor.elementCount(of: shape)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: Tensor.elementCount(of: shape)))
    }

    /// Number of elements.
    public var count: Int { scalars.count }

    /// Number of elements a shape holds (1 for a scalar's empty shape).
    public static func elementCount(of shape: [Int]) -> Int { shape.reduce(1, *) }

    /// The same scalars under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, scalars: scalars) }

    /// Whether every element is finite (no NaN, no infinity).
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }

    /// Largest absolute element-wise difference to a tensor of the same shape.
    public func maxAbsoluteDifference(to other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
        var worst: Float = 0
        for i in scalars.indices { worst = max(worst, abs(scalars[i] - other.scalars[i])) }
        return worst
    }
}
