import CSystemd
import Foundation

/// sd_notify through libsystemd: READY, STATUS, RELOADING (with MONOTONIC_USEC), STOPPING and the
/// watchdog. Does nothing when not started by systemd (no NOTIFY_SOCKET).
public struct SystemdNotifier: Sendable {
    public init() {}

    public var isActive: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ status: String) { send("STATUS=\(status)") }
    public func stopping() { send("STOPPING=1\nSTATUS=stopping") }
    public func watchdog() { send("WATCHDOG=1") }

    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send("RELOADING=1\nMONOTONIC_USEC=\(microseconds)\nSTATUS=reloading model")
    }

    /// systemd's watchdog timeout in seconds (`WatchdogSec=`, passed as WATCHDOG_USEC), when it expects pings.
    public var watchdogInterval: Double? {
        var usec: UInt64 = 0
        guard isActive, sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return Double(usec) / 1e6
    }

    private func send(_ state: String) {
        guard isActive else { return }
        _ = sd_notify(0, state)
    }
}
