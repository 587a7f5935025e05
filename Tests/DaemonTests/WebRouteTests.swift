import ControlProtocol
@testable import DaemonKit
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// The web page's routes in process: bad input gets a clear 4xx, and nothing outside the outbox and
/// the archived slides the daemon knows is ever read.
@Suite struct WebRouteTests {
    @Test func badNamesTilesAndLevelsGet4xx() async throws {
        try await ControlControllerTests.withRouter { client, dependencies in
            // A finished slide whose outputs are a real mask and whose original is a real TIFF.
            let outbox = dependencies.configuration.outbox, archive = dependencies.configuration.archive
            try FileManager.default.copyItem(atPath: Fixtures.path("slides/histo_he.tif"), toPath: archive + "/histo_he.tif")
            var job = Job(name: "histo_he.tif", spoolPath: "/spool/histo_he.tif", claimedFrom: "/in/histo_he.tif", state: .archived)
            job.outputName = "histo_he"
            job.destination = archive + "/histo_he.tif"
            _ = try dependencies.store.insert(job)
            try FileManager.default.copyItem(atPath: Fixtures.path("slides/histo_he.tif"), toPath: outbox + "/histo_he.mask.tif")

            let expectations: [(String, HTTPResponse.Status)] = [
                ("/tiles/histo_he/slide.dzi", .ok),
                ("/tiles/histo_he/slide_files/9/1_1.png", .ok),
                ("/tiles/histo_he/mask_files/8/0_0.png?style=fill", .ok),
                ("/v1/web/slides/histo_he", .ok),
                ("/slides/..", .badRequest),
                ("/slides/..%2F..%2Fetc%2Fpasswd", .badRequest),
                ("/slides/%2Fetc%2Fpasswd", .badRequest),
                ("/slides/.hidden", .badRequest),
                ("/slides/unknown", .notFound),
                ("/files/histo_he/passwd", .badRequest),
                ("/files/..%2Fstate/geojson", .badRequest),
                ("/tiles/histo_he/slide_files/99/0_0.png", .notFound),
                ("/tiles/histo_he/slide_files/9/-1_0.png", .badRequest),
                ("/tiles/histo_he/slide_files/9/99999999999_0.png", .badRequest),
                ("/tiles/histo_he/slide_files/9/5_5.png", .notFound),
                ("/tiles/histo_he/slide_files/-1/0_0.png", .badRequest),
                ("/tiles/histo_he/etc_files/9/0_0.png", .notFound),
                ("/tiles/histo_he/slide_files/9/0_0.png?style=x", .badRequest),
                ("/v1/web/slides/histo_he/nucleus?x=abc&y=1", .badRequest),
                ("/v1/web/results?limit=0", .badRequest),
                ("/v1/web/results?offset=-5", .badRequest),
                ("/v1/web/results?sort=password", .badRequest),
                ("/static/..%2F..%2FPackage.swift", .notFound),
            ]
            for (uri, status) in expectations {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == status, "\(uri): \(response.status) \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: WebPath.results + "?q=histo&state=done", method: .get) { response in
                let page = try ControlCoding.decoder().decode(WebResultsResponse.self, from: Data(buffer: response.body))
                #expect(page.total == 1 && page.results.first?.outputName == "histo_he")
            }
            try await client.execute(uri: WebPath.results + "?q=100%25", method: .get) { response in
                let page = try ControlCoding.decoder().decode(WebResultsResponse.self, from: Data(buffer: response.body))
                #expect(page.total == 0, "a % in the filter matches only itself")
            }
        }
    }
}
