import CSystemd
import Foundation
import Logging

/// swift-log handler: to the systemd journal (sd_journal_sendv, with PRIORITY and the metadata as
/// fields) when the process runs under systemd, otherwise one line per message on stderr.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let useJournal: Bool

    public init(label: String) {
        self.label = label
        useJournal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil || ProcessInfo.processInfo.environment["INVOCATION_ID"] != nil
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        if useJournal {
            var fields = ["MESSAGE=\(message)", "PRIORITY=\(Self.priority(level))", "SYSLOG_IDENTIFIER=\(label)"]
            for (key, value) in merged {
                let name = key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
                fields.append("UNETD_\(String(name))=\(value)")
            }
            let cStrings = fields.map { strdup($0)! }
            defer { cStrings.forEach { free($0) } }
            var vectors = cStrings.map { iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0)) }
            _ = sd_journal_sendv(&vectors, Int32(vectors.count))
        } else {
            let details = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            let line = "<\(Self.priority(level))>\(level): \(message)\(details)\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// syslog priorities journald understands (also as `<N>` prefixes on stderr).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
