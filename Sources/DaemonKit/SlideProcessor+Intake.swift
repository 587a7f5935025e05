import Foundation
import UNetCore

/// Intake: which inbox files are ready, and the claim that moves each into the spool. The job row
/// is written before the rename (`claiming`) and updated after it (`queued`), so a crash between the
/// two is undone or finished by `recover()`, and no slide can sit in the spool without a job.
extension SlideProcessor {
    /// Claims every inbox slide whose size and mtime have held still for the quiet period. Paused
    /// while storage is failing (a slide claimed then could only be deferred).
    func scan() async {
        guard status.degraded == nil, !stopping.withLock({ $0 }) else { return }
        let spool = self.spool
        let listing: Spool.InboxListing
        do { listing = try await io.run { try spool.listInbox() } } catch {
            logger.error("cannot scan the inbox", metadata: ["error": "\(error)"])
            return
        }
        for raw in listing.unreadableNames {
            do {
                let name = try await io.run { try spool.setAsideUnreadableName(raw) }
                logger.error("set aside a slide whose file name is not UTF-8", metadata: ["failed_as": "\(name)"])
            } catch {
                logger.error("cannot set aside a slide whose file name is not UTF-8", metadata: ["error": "\(error)"])
            }
        }
        for name in readyNames(listing.candidates, now: Date()) {
            await claim(name)
        }
    }

    /// Names whose (size, mtime) have not changed for the quiet period; forgets vanished names.
    func readyNames(_ candidates: [Spool.Candidate], now: Date) -> [String] {
        let quietPeriod = configuration.quietPeriod
        return intake.withLock { state in
            var ready: [String] = []
            for candidate in candidates {
                if let previous = state.seen[candidate.name], previous.candidate == candidate {
                    guard now.timeIntervalSince(previous.since) >= quietPeriod else { continue }
                    state.seen[candidate.name] = nil
                    ready.append(candidate.name)
                } else if quietPeriod == 0 {
                    ready.append(candidate.name)
                } else {
                    state.seen[candidate.name] = (candidate, now)
                }
            }
            let present = Set(candidates.map(\.name))
            for name in state.seen.keys where !present.contains(name) { state.seen[name] = nil }
            return ready
        }
    }

    /// Records, renames into the spool, records again. Nil-safe against other daemons: when the
    /// rename finds the file gone, the row is dropped and nothing happened.
    func claim(_ name: String) async {
        let spoolPath = spool.spoolPath(for: name, tag: spool.claimTag())
        let source = configuration.inbox + "/" + name
        let store = self.store, spool = self.spool
        do {
            let job = try await io.run { () -> Job? in
                let job = try store.insert(Job(name: name, spoolPath: spoolPath, claimedFrom: source))
                do {
                    guard try spool.claim(from: source, to: spoolPath) else {
                        try store.delete(job.storedID)
                        return nil
                    }
                } catch {
                    try? store.delete(job.storedID)
                    throw error
                }
                return try store.update(job.storedID) { $0.state = .queued }
            }
            if let job { logger.info("claimed slide", metadata: ["slide": "\(name)", "job": "\(job.storedID)"]) }
        } catch {
            logger.error("cannot claim slide; it stays in the inbox", metadata: ["slide": "\(name)", "error": "\(error)"])
            await storageFault(error, during: "claim \(name)")
        }
    }
}
