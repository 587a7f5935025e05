import CKernels
import Foundation

/// Which of the engine's own kernels run on this CPU: chosen once at start from what the CPU reports,
/// or forced with `UNET_CPU=generic|avx2|avx512|avx512bf16` (tests, bug reports). `generic` is the
/// portable path (OpenBLAS products), and the only one on CPUs other than x86-64.
public enum CPUPath: String, Sendable, CaseIterable, Codable {
    case generic, avx2, avx512, avx512bf16

    /// Whether this CPU (and OS) can run the path.
    public var isSupported: Bool {
        switch self {
        case .generic: true
        case .avx2: unet_cpu_has_avx2_fma() != 0
        case .avx512: unet_cpu_has_avx512f() != 0
        case .avx512bf16: unet_cpu_has_avx512_bf16() != 0
        }
    }

    /// The best path this CPU supports.
    public static let detected: CPUPath = allCases.last(where: \.isSupported) ?? .generic

    /// The path in use: `UNET_CPU` when set and supported, else `detected`. A request the CPU cannot
    /// honour falls back with one warning on standard error (running it would stop on an illegal instruction).
    public static let selected: CPUPath = {
        let choice = resolve(ProcessInfo.processInfo.environment["UNET_CPU"])
        if let warning = choice.warning { FileHandle.standardError.write(Data("unet: \(warning)\n".utf8)) }
        return choice.path
    }()

    /// The path for a `UNET_CPU` value (nil or empty: detected), with a warning when it cannot be used as asked.
    public static func resolve(_ request: String?) -> (path: CPUPath, warning: String?) {
        guard let request, !request.isEmpty else { return (detected, nil) }
        guard let path = CPUPath(rawValue: request.lowercased()) else {
            let names = allCases.map(\.rawValue).joined(separator: "|")
            return (detected, "UNET_CPU=\(request) is not one of \(names); using \(detected.rawValue)")
        }
        guard path.isSupported else {
            return (detected, "UNET_CPU=\(request): this CPU lacks the instructions; using \(detected.rawValue)")
        }
        return (path, nil)
    }

    /// The direct-convolution kernel this path runs at `precision` (nil: the OpenBLAS path). bf16 on the
    /// fp32 kernels means rounding around them (the portable bf16 path); only `avx512bf16` has a native one.
    func directConvolution(for precision: Precision) -> DirectConv3x3.Kernel? {
        switch self {
        case .generic: nil
        case .avx2: .avx2
        case .avx512: .avx512
        case .avx512bf16: precision.resolved(for: self) == .bf16 ? .avx512bf16 : .avx512
        }
    }
}
