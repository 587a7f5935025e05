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

    /// A lab's year: 10,000 finished slides (a few failed), paged, sorted and filtered by the route.
    @Test func tenThousandResultsPageSortAndFilter() async throws {
        try await ControlControllerTests.withRouter { client, dependencies in
            let count = 10_000, start = Date(timeIntervalSince1970: 1_790_000_000)
            try await dependencies.store.database.write { db in
                for index in 0..<count {
                    var job = Job(name: String(format: "slide-%05d.tif", index), spoolPath: "/spool/\(index)", claimedFrom: "/in/\(index)",
                                  state: index % 100 == 7 ? .failed : .archived)
                    job.outputName = String(format: "slide-%05d", index)
                    job.finishedAt = start.addingTimeInterval(Double(index * 37 % count))  // finished in another order than named
                    job.nuclei = index * 7_919 % 10_007  // all different
                    job.seconds = Double(index % 50)
                    try job.insert(db)
                }
            }
            func page(_ query: String) async throws -> WebResultsResponse {
                try await client.execute(uri: WebPath.results + "?" + query, method: .get) { response in
                    #expect(response.status == .ok, "\(query)")
                    return try ControlCoding.decoder().decode(WebResultsResponse.self, from: Data(buffer: response.body))
                }
            }
            let byNuclei = try await page("sort=nuclei&order=desc&offset=100&limit=50&state=done")
            let expected = (0..<count).filter { $0 % 100 != 7 }.map { $0 * 7_919 % 10_007 }.sorted(by: >)
            #expect(byNuclei.total == count - count / 100)
            #expect(byNuclei.results.map(\.nuclei) == expected[100..<150].map { Optional($0) })
            let last = try await page("sort=finished&order=asc&offset=\(count - 3)&limit=50")
            #expect(last.total == count && last.results.count == 3)
            #expect(last.results.map(\.finishedAt) == last.results.map(\.finishedAt).sorted { $0! < $1! })
            let named = try await page("sort=name&q=slide-0042")
            #expect(named.total == 10 && named.results.map(\.name) == (420...429).map { String(format: "slide-%05d.tif", $0) }.reversed())
            let failed = try await page("state=failed&limit=200")
            #expect(failed.total == count / 100 && failed.results.allSatisfy { $0.state == .failed })
        }
    }
}
