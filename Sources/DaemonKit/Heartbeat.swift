import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Proof that the daemon's async side is alive: a task on the cooperative pool beats once a second,
/// and the watchdog thread pings systemd only while the last beat is recent. Blocking work never runs
/// on that pool (see `BlockingPool`), so a busy daemon keeps beating and a wedged one stops.
public final class Heartbeat: Sendable {
    private let last = Mutex(Heartbeat.now())

    public init() {}

    public func beat() { last.withLock { $0 = Self.now() } }

    /// Seconds since the last beat.
    public var age: Double { Self.now() - last.withLock { $0 } }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}

/// Feeds systemd's watchdog from a thread of its own, so no slide, hash or database call can delay
/// the ping; it pings at a third of `WatchdogSec` as long as the heartbeat is younger than half of it.
public final class WatchdogFeeder: Sendable {
    private let stopped = Mutex(false)

    /// Starts feeding when systemd asked for a watchdog (`WATCHDOG_USEC`); nil otherwise.
    public static func startIfEnabled(notifier: SystemdNotifier, heartbeat: Heartbeat) -> WatchdogFeeder? {
        guard let interval = notifier.watchdogInterval else { return nil }
        let feeder = WatchdogFeeder()
        let thread = Thread { [feeder] in
            while !feeder.stopped.withLock({ $0 }) {
                if heartbeat.age < interval / 2 { notifier.watchdog() }
                Thread.sleep(forTimeInterval: interval / 3)
            }
        }
        thread.name = "watchdog"
        thread.start()
        return feeder
    }

    public func stop() { stopped.withLock { $0 = true } }
}
