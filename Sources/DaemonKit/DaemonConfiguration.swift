import Foundation
import Segmentation
import TOMLKit
import UNetCore
import UNetEngine
#if canImport(Glibc)
import Glibc
#endif

/// Where unetd keeps its directories and how it segments. Built from defaults under `--root`, then
/// `unetd.toml`, then command-line flags; anything unknown or ill-typed is refused with the key named.
public struct DaemonConfiguration: Sendable, Equatable {
    public var root: String
    public var inbox: String
    public var outbox: String
    public var archive: String
    public var failed: String
    public var state: String
    public var logs: String
    public var socket: String
    /// Where claimed slides wait, when not `state/spool`. The claim is a rename from the inbox, so
    /// the spool must be on the inbox's file system: on a network share, a per-node directory there.
    public var customSpool: String?
    /// This daemon's name on shared directories (default: the host name); see `NodeIdentity`.
    public var nodeName: String = NodeIdentity.current
    /// How the inbox is watched: inotify events, listing it every `pollInterval`, or both.
    public var watch: WatchMode = .both
    /// Seconds between listings under `watch = "poll"`.
    public var pollInterval: Double = 2
    /// Seconds after which another node's temporary file in a shared directory counts as abandoned
    /// (its pid cannot be checked from here).
    public var foreignTemporaryAge: Double = 86400
    /// Slides segmented at once, each with `threads` threads, all on one shared model.
    public var workers: Int = 1
    /// nil: the embedded default model.
    public var model: String?
    public var threads: Int = 2
    /// `fp32` (the default: what the PyTorch golden tests prove), `bf16`, or `auto` (bf16 where the CPU
    /// has native bf16 dot products).
    public var precision: Precision = .fp32
    public var tile: Int = 512
    public var overlap: Int = 32
    public var threshold: Float?
    public var maximumPixels: Int = 10_000_000_000
    public var socketGroup: String?
    public var socketMode: Int = 0o660
    /// Where the web page is also served over TCP (nil: only through the socket and `unetctl web`).
    public var httpListen: WebListenAddress?
    /// The token the TCP listener asks for (required when `httpListen` is not a loopback address).
    public var httpToken: String?
    /// Seconds a file's size and mtime must stay unchanged before it is claimed.
    public var quietPeriod: Double = 2
    /// Seconds between full scans of the inbox (network mounts send no inotify events).
    public var rescanInterval: Double = 30
    /// Tries before a slide that keeps failing or crashing is set aside.
    public var maximumAttempts: Int = 3
    /// Reload when the model file at `model` changes.
    public var watchModel: Bool = true
    /// Outputs, physical scale and object settings (`outputs`, `mpp`, `slide_mpp`, `require_mpp`,
    /// `geojson_object_type`, `min_object_area`).
    public var segmentation = SegmentationSettings()

    public init(root: String) {
        let base = URL(fileURLWithPath: root).standardizedFileURL.path
        self.root = base
        inbox = base + "/inbox"
        outbox = base + "/outbox"
        archive = base + "/archive"
        failed = base + "/failed"
        state = base + "/state"
        logs = base + "/logs"
        socket = base + "/unetd.sock"
    }

    /// `inotify`: kernel events only (local file systems); `poll`: list the inbox every
    /// `poll_interval` (network mounts, where other hosts' writes send no events); `both`: events
    /// plus a full listing every `rescan_interval`.
    public enum WatchMode: String, Sendable, CaseIterable {
        case inotify, poll, both
    }

    public var metricsLog: String { logs + "/metrics.jsonl" }
    public var spool: String { customSpool ?? state + "/spool" }
    public var database: String { state + "/jobs.sqlite" }

    /// Sets `precision` from its name (`fp32`, `bf16`, `auto`); `source` names the flag or key in the error.
    public mutating func setPrecision(_ name: String, source: String) throws {
        guard let choice = Precision(rawValue: name) else {
            throw Problem(message: "\(source) must be \"fp32\", \"bf16\" or \"auto\", not \"\(name)\"")
        }
        precision = choice
    }

    public struct Problem: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// Applies a TOML file: every key must be known and of the right type.
    public mutating func apply(tomlFile path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Problem(message: "\(path): cannot read configuration") }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch { throw Problem(message: "\(path): not valid TOML: \(error)") }
        for key in table.keys {
            let value = table[key]!
            func string() throws -> String {
                guard let s = value.string, !s.isEmpty else { throw Problem(message: "\(path): key '\(key)' must be a non-empty string") }
                return s
            }
            func integer(_ range: ClosedRange<Int>) throws -> Int {
                guard let i = value.int, range.contains(i) else { throw Problem(message: "\(path): key '\(key)' must be an integer in \(range)") }
                return i
            }
            func number(_ range: ClosedRange<Double>) throws -> Double {
                guard let d = value.double ?? value.int.map(Double.init), range.contains(d) else {
                    throw Problem(message: "\(path): key '\(key)' must be a number in \(range)")
                }
                return d
            }
            switch key {
            case "inbox": inbox = try string()
            case "outbox": outbox = try string()
            case "archive": archive = try string()
            case "failed": failed = try string()
            case "state": state = try string()
            case "spool": customSpool = try string()
            case "node_name": nodeName = try string()
            case "watch":
                guard let mode = value.string.flatMap(WatchMode.init(rawValue:)) else {
                    throw Problem(message: "\(path): key 'watch' must be \"inotify\", \"poll\" or \"both\"")
                }
                watch = mode
            case "poll_interval": pollInterval = try number(Limits.pollInterval)
            case "foreign_temporary_age": foreignTemporaryAge = try number(Limits.foreignTemporaryAge)
            case "workers": workers = try integer(Limits.workers)
            case "logs": logs = try string()
            case "socket": socket = try string()
            case "model": model = try string()
            case "threads": threads = try integer(Limits.threads)
            case "precision": try setPrecision(value.string ?? "", source: "\(path): key 'precision'")
            case "tile": tile = try integer(Limits.tile)
            case "overlap": overlap = try integer(Limits.overlap)
            case "threshold": threshold = Float(try number(0...1))
            case "max_pixels": maximumPixels = try integer(1...Int.max)
            case "socket_group": socketGroup = try string()
            case "socket_mode":
                guard let text = value.string, let mode = Int(text, radix: 8), (0...0o777).contains(mode) else {
                    throw Problem(message: "\(path): key 'socket_mode' must be an octal string such as \"0660\"")
                }
                socketMode = mode
            case "http_listen":
                guard let address = value.string.flatMap(WebListenAddress.init) else {
                    throw Problem(message: "\(path): key 'http_listen' must be \"HOST:PORT\" with a numeric address or localhost, such as \"127.0.0.1:8750\"")
                }
                httpListen = address
            case "http_token": httpToken = try string()
            case "quiet_period": quietPeriod = try number(Limits.quietPeriod)
            case "rescan_interval": rescanInterval = try number(Limits.rescanInterval)
            case "max_attempts": maximumAttempts = try integer(Limits.maximumAttempts)
            case "watch_model":
                guard let flag = value.bool else { throw Problem(message: "\(path): key 'watch_model' must be true or false") }
                watchModel = flag
            case "outputs":
                guard let list = value.array?.compactMap({ $0.string }), list.count == value.array?.count else {
                    throw Problem(message: "\(path): key 'outputs' must be an array of strings such as [\"mask\", \"geojson\"]")
                }
                do { segmentation.outputs = try OutputKind.parseList(list.joined(separator: ",")) } catch {
                    throw Problem(message: "\(path): key 'outputs': \(error)")
                }
            case "mpp":
                guard let mode = value.string.flatMap(MPPMode.init(rawValue:)) else { throw Problem(message: "\(path): key 'mpp' must be \"auto\" or \"off\"") }
                segmentation.mpp = mode
            case "slide_mpp": segmentation.slideMPP = try number(Limits.micronsPerPixel)
            case "require_mpp":
                guard let flag = value.bool else { throw Problem(message: "\(path): key 'require_mpp' must be true or false") }
                segmentation.requireMPP = flag
            case "geojson_object_type":
                guard let type = value.string.flatMap(ObjectDescription.ObjectType.init(rawValue:)) else {
                    throw Problem(message: "\(path): key 'geojson_object_type' must be \"detection\" or \"annotation\"")
                }
                segmentation.objectType = type
            case "min_object_area", "max_object_area":
                let text = value.int.map { String($0) } ?? value.string
                guard let limit = text.flatMap(ObjectAreaLimit.init) else {
                    throw Problem(message: "\(path): key '\(key)' must be a number of pixels (8) or a string with a unit (\"8px\", \"10um2\")")
                }
                if key == "min_object_area" { segmentation.minimumObjectArea = limit } else { segmentation.maximumObjectArea = limit }
            case "split_touching":
                guard let flag = value.bool else { throw Problem(message: "\(path): key 'split_touching' must be true or false") }
                segmentation.splitTouching = flag
            default:
                throw Problem(message: "\(path): unknown key '\(key)'")
            }
        }
        try validate()
    }

    /// Ranges of every numeric setting, shared by the TOML reader and the command-line flags.
    public enum Limits {
        public static let threads = 1...256
        public static let tile = 16...8192
        public static let overlap = 0...1024
        public static let quietPeriod = 0.0...3600
        public static let rescanInterval = 0.5...86400
        public static let pollInterval = 0.1...3600
        public static let foreignTemporaryAge = 60.0...(365 * 86400)
        public static let workers = 1...256
        public static let maximumAttempts = 1...100
        public static let micronsPerPixel = 0.001...1000.0
    }

    /// Checks every value, however it was set (file or flag); names the setting that is wrong.
    public func validate() throws {
        func check<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ key: String) throws {
            guard range.contains(value) else { throw Problem(message: "'\(key)' (--\(key.replacingOccurrences(of: "_", with: "-"))) must be in \(range), not \(value)") }
        }
        try check(threads, Limits.threads, "threads")
        try check(tile, Limits.tile, "tile")
        try check(overlap, Limits.overlap, "overlap")
        try check(quietPeriod, Limits.quietPeriod, "quiet_period")
        try check(rescanInterval, Limits.rescanInterval, "rescan_interval")
        try check(maximumAttempts, Limits.maximumAttempts, "max_attempts")
        try check(pollInterval, Limits.pollInterval, "poll_interval")
        try check(foreignTemporaryAge, Limits.foreignTemporaryAge, "foreign_temporary_age")
        try check(workers, Limits.workers, "workers")
        guard NodeIdentity.isValid(nodeName) else {
            throw Problem(message: "'node_name' (--node-name): \(NodeIdentity.InvalidName(name: nodeName))")
        }
        try check(maximumPixels, 1...Int.max, "max_pixels")
        if let threshold { try check(threshold, 0...1, "threshold") }
        if let slideMPP = segmentation.slideMPP { try check(slideMPP, Limits.micronsPerPixel, "slide_mpp") }
        guard overlap < tile / 2 else { throw Problem(message: "overlap \(overlap) must be less than half the tile \(tile)") }
        try validateWebListener()
        if let socketGroup, getgrnam(socketGroup) == nil {
            throw Problem(message: "'socket_group': group '\(socketGroup)' does not exist; create it (groupadd) or remove the key")
        }
    }
}

extension DaemonConfiguration {
    /// A token is what keeps the page to the lab once it listens beyond this machine.
    func validateWebListener() throws {
        if let httpToken {
            guard httpListen != nil else { throw Problem(message: "'http_token' is set but 'http_listen' is not: set both, or remove the token") }
            guard httpToken.count >= 16, httpToken.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._~-".contains($0)) }) else {
                throw Problem(message: "'http_token' must be at least 16 characters of A–Z, a–z, 0–9, '.', '_', '~', '-' (make one with: openssl rand -hex 24)")
            }
        }
        if let httpListen, !httpListen.isLoopback, httpToken == nil {
            throw Problem(message: "'http_listen' \(httpListen) is reachable from other machines: set 'http_token' too (openssl rand -hex 24), "
                + "or listen on 127.0.0.1 behind a reverse proxy")
        }
    }
}

/// The segmentation settings unetd passes through to every slide, as `unet segment`'s flags of the same names.
public struct SegmentationSettings: Sendable, Equatable {
    public var outputs: Set<OutputKind>?
    public var mpp: MPPMode = .auto
    public var slideMPP: Double?
    public var requireMPP = false
    public var objectType: ObjectDescription.ObjectType = .detection
    /// nil: 10 µm² when the slide's MPP is known, else 8 px.
    public var minimumObjectArea: ObjectAreaLimit?
    public var maximumObjectArea: ObjectAreaLimit?
    public var splitTouching = false

    public init() {}

    func apply(to options: inout SegmentationOptions) {
        options.outputs = outputs
        options.mpp = mpp
        options.slideMPP = slideMPP
        options.requireMPP = requireMPP
        options.objectType = objectType
        options.minimumObjectArea = minimumObjectArea
        options.maximumObjectArea = maximumObjectArea
        options.splitTouching = splitTouching
    }
}
