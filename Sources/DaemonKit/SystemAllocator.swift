#if canImport(Glibc)
import Glibc
#endif

/// How the daemon asks glibc's allocator to give memory back. glibc keeps what a program frees for its
/// later allocations, and after the first large block is freed it stops mapping large blocks apart
/// (its threshold rises with each one freed), so a model replaced by a reload, or a refused one (loaded
/// whole before it was checked), stayed in the daemon's RSS as free heap: over 1,000 reloads of a
/// width-64 model RSS wandered between 780 and 1,050 MiB with no leak under it. With both calls below it
/// stays within 0.1% (BENCHMARKS.md, issue 32). Neither is in Swift's Glibc module (malloc.h), so both
/// are looked up by name; with another C library they do nothing.
enum SystemAllocator {
    /// Blocks of 1 MiB and more (weights, bands, buffers) get mappings of their own, unmapped when freed,
    /// whatever was freed before (a fixed `M_MMAP_THRESHOLD`). Once, at start.
    static func mapLargeBlocksApart() {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        guard let symbol = glibc("mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 1 << 20)
    }

    /// Returns the free pages the heap still holds (`malloc_trim(0)`): after a reload. Blocking: call it on a `BlockingPool`.
    static func releaseFreeMemory() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = glibc("malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// The C library's function `name`, looked up in every loaded object (a nil handle is `RTLD_DEFAULT`).
    private static func glibc(_ name: String) -> UnsafeMutableRawPointer? { dlsym(nil, name) }
}
