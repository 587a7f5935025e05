import Foundation

/// The web page's files (HTML, scripts, styles, and OpenSeadragon with its licence), shipped beside the
/// binaries like the default model and held in memory once read: a few hundred KiB.
///
/// Looked up, in order: `$UNETD_WEB_ROOT`; the installed copy `<prefix>/share/unetd/web` beside
/// `<prefix>/bin`; the build's resource bundle next to the executable.
public enum WebAssets {
    /// A file served under `/static/NAME` (or as a page).
    public struct Asset: Sendable {
        public let bytes: [UInt8]
        public let contentType: String
    }

    /// The names that exist: nothing else is ever read, whatever a request asks for.
    public static let names = ["overview.html", "slide.html", "summary.html", "unetd.js", "overview.js", "slide.js", "summary.js",
                               "style.css", "openseadragon.min.js", "LICENSE.openseadragon.txt"]

    /// Every asset by name, read once; empty when the files are not installed.
    public static let all: [String: Asset] = {
        guard let directory else { return [:] }
        var assets: [String: Asset] = [:]
        for name in names {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            assets[name] = Asset(bytes: [UInt8](data), contentType: contentType(of: name))
        }
        return assets
    }()

    /// Where the files are, or nil when they are not installed.
    public static var directory: String? {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["UNETD_WEB_ROOT"] { candidates.append(override) }
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent("share/unetd/web").path)
        candidates.append(executable.appendingPathComponent("unetd_WebAssets.resources/web").path)
        candidates.append(executable.appendingPathComponent("unetd_WebAssets.resources/Resources/web").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/overview.html") }
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        default: "text/plain; charset=utf-8"
        }
    }
}
