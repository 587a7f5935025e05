import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// inotify on the inbox (`IN_CLOSE_WRITE`, `IN_MOVED_TO`, and `IN_Q_OVERFLOW` meaning "rescan"),
/// read on a dedicated thread that sleeps in `poll` and wakes the processor through an AsyncStream:
/// on events, and every `tickInterval` as a tick (stability checks, polling, watchdog, model-file
/// checks). Without a directory it only ticks: `watch = "poll"`, where the processor lists the inbox
/// itself. No busy polling.
public final class InboxWatcher: Sendable {
    public enum Event: Sendable { case changed, overflow, tick }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    /// -1 when not watching with inotify.
    private let inotify: Int32
    private let wakeup: [Int32]
    private let tickMilliseconds: Int32

    /// Adds the watch on `directory` (nil: ticks only); throws if the inbox cannot be watched.
    public init(directory: String?, tickInterval: Double = 1) throws {
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(16))
        tickMilliseconds = Int32(max(10, min(tickInterval, 1) * 1000))
        if let directory {
            inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
            guard inotify >= 0 else { throw DaemonError.system("inotify_init1", path: directory) }
            guard inotify_add_watch(inotify, directory, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB)) >= 0 else {
                let error = DaemonError.system("watch (inotify_add_watch)", path: directory)
                close(inotify)
                throw error
            }
        } else {
            inotify = -1
        }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            let error = DaemonError.system("pipe for the watcher's wakeup", path: directory)
            if inotify >= 0 { close(inotify) }
            throw error
        }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        wakeup = pipeEnds
    }

    public func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "inbox-watcher"
        thread.start()
    }

    public func stop() {
        var byte: UInt8 = 1
        _ = write(wakeup[1], &byte, 1)
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var descriptors = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeup[0], events: Int16(POLLIN), revents: 0)]
            // A negative fd is ignored by poll(2): without inotify only the wakeup pipe and the timeout remain.
            let ready = poll(&descriptors, 2, tickMilliseconds)
            if descriptors[1].revents != 0 { break }
            guard ready > 0 else { continuation.yield(.tick); continue }
            var overflow = false, changed = false
            while true {
                let count = read(inotify, &buffer, buffer.count)
                guard count > 0 else { break }
                var offset = 0
                while offset < count {
                    let event = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: inotify_event.self) }
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { overflow = true } else { changed = true }
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                }
            }
            if overflow { continuation.yield(.overflow) } else if changed { continuation.yield(.changed) }
        }
        continuation.finish()
        if inotify >= 0 { close(inotify) }
        close(wakeup[0])
        close(wakeup[1])
    }
}
