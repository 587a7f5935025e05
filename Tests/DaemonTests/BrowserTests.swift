import ControlProtocol
import Foundation
import TestSupport
import Testing

/// The web page in a real headless Chromium, through `unetctl web`: a slide dropped into a running
/// unetd shows its progress, then opens in the viewer, zooms, toggles its nuclei and answers a click
/// on one with its measurements; no page logs an error or loses a request.
@Suite(.serialized, .enabled(if: WebDriver.isAvailable, "SKIPPED: the browser tests need chromium and chromium-driver (make deps installs them)"))
struct BrowserTests {
    @Test func aSlideGoesFromProgressBarToViewerAndANucleusAnswersAClick() throws {
        // Small tiles, so the 1000 × 1000 slide takes some 1,700 of them and its bar visibly moves.
        let root = try Fixtures.temporaryDirectory().path
        let config = root + "/unetd.toml"
        try "tile = 32\noverlap = 8\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonHarness(root: root + "/daemon", extra: ["--config", config])
        defer { daemon.remove(); try? FileManager.default.removeItem(atPath: root) }
        try daemon.start()
        let web = Process()
        web.executableURL = URL(fileURLWithPath: DaemonHarness.executable("unetctl"))
        web.arguments = ["--socket", daemon.socket, "web", "--port", "0"]
        let output = Pipe()
        web.standardOutput = output
        try web.run()
        defer {
            web.terminate()
            web.waitUntilExit()  // it must end on SIGTERM: a forwarder left running holds the test runner's output open
        }
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let url = try #require(line.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }.map(String.init), "unetctl web said: \(line)")

        let browser = try WebDriver()
        try browser.open(url)
        try waitUntil(timeout: 30, "the overview shows the daemon running") { try browser.text("#state") == "running" }
        try FileManager.default.copyItem(atPath: Fixtures.path("slides/tia_he.tif"), toPath: daemon.inbox + "/tia_he.tif")
        var seen: [Double] = []
        try waitUntil(timeout: 300, "the progress bar moves, then the slide is listed done") {
            let bar = try browser.run("const bar = document.querySelector('progress[data-slide=\"tia_he.tif\"]'); return bar ? bar.value : null;")
            if let value = (bar as? NSNumber)?.doubleValue, value != seen.last {
                seen.append(value)
                if seen.count == 2 { try browser.screenshot("overview-in-progress") }
            }
            return try browser.text("#results tbody").contains("tia_he.tif") && browser.text("#results tbody").contains("done")
        }
        #expect(seen.count >= 2 && seen == seen.sorted(), "progress values seen: \(seen)")
        try browser.screenshot("overview")
        try expectNoProblems(browser)

        try browser.click("#results a[href='/slides/tia_he']")
        try waitUntil(timeout: 60, "the viewer has drawn the slide and its nuclei") {
            try browser.run("const v = window.unetdViewer; return !!v && v.world.getItemCount() === 2 && v.world.getItemAt(1).getFullyLoaded();") as? Bool == true
        }
        try browser.run("window.unetdViewer.viewport.zoomTo(4, null, true); return null;")
        try waitUntil(timeout: 60, "the zoomed view is drawn") {
            try browser.run("const v = window.unetdViewer; return v.world.getItemAt(0).getFullyLoaded() && v.world.getItemAt(1).getFullyLoaded();") as? Bool == true
        }
        try browser.click("#overlay-toggle")
        try waitUntil(timeout: 10, "the nuclei are hidden") { try browser.run("return window.unetdViewer.world.getItemCount();") as? Int == 1 }
        try browser.click("#overlay-toggle")
        try waitUntil(timeout: 30, "the nuclei are back") { try browser.run("return window.unetdViewer.world.getItemCount();") as? Int == 2 }

        // A nucleus from objects.csv, centred in the view, then clicked where it is drawn.
        let objects = try String(contentsOfFile: root + "/daemon/outbox/tia_he.objects.csv", encoding: .utf8).split(separator: "\n")
        let header = objects[0].split(separator: ",", omittingEmptySubsequences: false)
        let area = try #require(header.firstIndex(of: "Nucleus: Area px"))
        let nucleus = objects.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .max { Double($0[area]) ?? 0 < Double($1[area]) ?? 0 }!
        let (x, y) = (Double(nucleus[2])!, Double(nucleus[3])!)
        let position = try #require(try browser.run("""
            const v = window.unetdViewer, item = v.world.getItemAt(0);
            v.viewport.panTo(item.imageToViewportCoordinates(arguments[0], arguments[1]), true);
            const point = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(arguments[0], arguments[1]));
            const box = document.getElementById('viewer').getBoundingClientRect();
            return [Math.round(box.left + point.x), Math.round(box.top + point.y)];
            """, [x, y]) as? [Int])
        try browser.click(x: position[0], y: position[1])
        do {
            try waitUntil(timeout: 30, "the nucleus panel shows its area") { try browser.text("#nucleus").contains("Nucleus: Area px") }
        } catch {
            try browser.screenshot("slide-click-unanswered")
            throw WebDriver.Failure(description: "\(error); clicked at \(position) for the nucleus at (\(x), \(y)); the panel says: \(try browser.text("#nucleus"))")
        }
        let panel = try browser.text("#nucleus")
        #expect(panel.contains(String(nucleus[area])), "\(panel)")
        try browser.screenshot("slide")
        try expectNoProblems(browser)

        try browser.open(url + "summary")
        try waitUntil(timeout: 30, "the summary table lists the slide") { try browser.text("#summary tbody").contains("tia_he") }
        try browser.screenshot("summary")
        try expectNoProblems(browser)
    }

    private func expectNoProblems(_ browser: WebDriver, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let problems = try browser.problems()
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    }
}
