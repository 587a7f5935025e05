#if canImport(Glibc)
import Glibc
#endif

/// Memory figures of the running process, for benchmarks and result summaries.
public enum ProcessMemory {
    /// Peak resident set size so far, in bytes (`getrusage` reports KiB on Linux).
    public static var peakResidentBytes: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
