import Foundation

/// The seed of tests' random inputs: `UNET_TEST_SEED` when set (to replay a failure), else a fixed
/// one, so every run draws the same numbers. Failing tests name it in their messages.
public enum TestSeed {
    public static let value: UInt64 = ProcessInfo.processInfo.environment["UNET_TEST_SEED"].flatMap { UInt64($0) } ?? 2026_12_06
}
