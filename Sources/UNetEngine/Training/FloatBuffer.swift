/// A fixed-size, zero-initialised float buffer addressed by raw pointer, so worker threads can fill
/// disjoint parts of it without Swift's exclusivity checks on a shared array.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = max(count, 1)
        pointer = HugePages.allocateFloats(self.count)
        pointer.initialize(repeating: 0, count: self.count)
    }

    deinit { pointer.deallocate() }

    func zero() { pointer.update(repeating: 0, count: count) }
}
