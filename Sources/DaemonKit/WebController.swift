import ControlProtocol
import Foundation
import Hummingbird
import NIOCore
import Segmentation
import SlideIO
import WebAssets

/// The lab's web page, read-only: the overview (`/`), a slide in a deep-zoom viewer (`/slides/NAME`)
/// and the summary table (`/summary`), with the JSON, tiles and files they load. Nothing here changes
/// state; reload, pause, resume and retry stay on the socket's POST routes. Every file read runs on
/// the web pool, and reads only the outbox and the archived originals of slides the daemon knows.
struct WebController {
    let dependencies: ControlServer.Dependencies

    func addRoutes(to router: Router<ControlContext>) {
        router.get("/") { _, _ in try page("overview.html") }
        router.get("/summary") { _, _ in try page("summary.html") }
        router.get("/slides/:name") { _, context in
            _ = try await WebSlide.resolve(try context.parameters.require("name"), dependencies)
            return try page("slide.html")
        }
        router.get("/static/:file") { _, context in try page(try context.parameters.require("file"), cache: true) }
        router.get(.init(stringLiteral: WebPath.results)) { request, _ in try await results(request) }
        router.get(.init(stringLiteral: WebPath.slides + "/:name")) { _, context in
            try await slide(try await WebSlide.resolve(try context.parameters.require("name"), dependencies))
        }
        router.get(.init(stringLiteral: WebPath.slides + "/:name/nucleus")) { request, context in
            try await nucleus(request, try await WebSlide.resolve(try context.parameters.require("name"), dependencies))
        }
        router.get("/files/:name/:kind") { _, context in
            let slide = try await WebSlide.resolve(try context.parameters.require("name"), dependencies)
            let kind = try context.parameters.require("kind")
            guard let suffix = WebSlide.suffix(ofDownload: kind) else { throw HTTPError(.badRequest, message: "no output kind \(kind)") }
            return try await file(slide.output(suffix), downloadAs: slide.outputName + suffix)
        }
        router.get("/summary.csv") { _, _ in try await file(dependencies.configuration.outbox + "/summary.csv", downloadAs: "summary.csv") }
        addTileRoutes(to: router)
    }

    /// A page or static file, from the assets in memory; 404 for any other name.
    func page(_ name: String, cache: Bool = false) throws -> Response {
        guard let asset = WebAssets.all[name] else {
            throw HTTPError(.notFound, message: WebAssets.all.isEmpty ? "the web page's files are not installed (make install)" : "no file \(name)")
        }
        var headers: HTTPFields = [.contentType: asset.contentType]
        if cache { headers[.cacheControl] = "max-age=300" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// `?offset=&limit=&sort=finished|name|nuclei|seconds&order=asc|desc&q=&state=all|done|failed|deferred`.
    func results(_ request: Request) async throws -> EditedResponse<WebResultsResponse> {
        let parameters = request.uri.queryParameters
        var query = WebResultsQuery()
        if let text = parameters.get("offset") {
            guard let offset = Int(text), offset >= 0, offset <= 1_000_000_000 else { throw HTTPError(.badRequest, message: "offset must be 0 or more") }
            query.offset = offset
        }
        if let text = parameters.get("limit") {
            guard let limit = Int(text), (1...200).contains(limit) else { throw HTTPError(.badRequest, message: "limit must be 1 to 200") }
            query.limit = limit
        }
        if let text = parameters.get("sort") {
            guard let sort = WebResultsQuery.Sort(rawValue: text) else {
                throw HTTPError(.badRequest, message: "sort must be one of \(WebResultsQuery.Sort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.sort = sort
        }
        if let text = parameters.get("order") {
            guard text == "asc" || text == "desc" else { throw HTTPError(.badRequest, message: "order must be asc or desc") }
            query.descending = text == "desc"
        }
        if let text = parameters.get("state") {
            guard let filter = WebResultsQuery.Filter(rawValue: text) else {
                throw HTTPError(.badRequest, message: "state must be one of \(WebResultsQuery.Filter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.filter = filter
        }
        query.nameContains = parameters.get("q").map { String($0.prefix(255)) }
        let store = dependencies.store, frozen = query, outbox = dependencies.configuration.outbox
        let (total, jobs) = try await dependencies.database.run { try store.results(frozen) }
        let rows = try await dependencies.web.run { jobs.map { WebSlide.result($0, outbox: outbox) } }
        return EditedResponse(response: WebResultsResponse(total: total, offset: query.offset, results: rows))
    }

    func slide(_ slide: WebSlide) async throws -> EditedResponse<WebSlideResponse> {
        let cache = dependencies.deepZoom, outbox = dependencies.configuration.outbox
        let base = "/tiles/" + (slide.outputName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? slide.outputName)
        return EditedResponse(response: try await dependencies.web.run {
            func image(_ path: String?, _ name: String) -> WebDeepZoom? {
                guard let path, let grid = try? cache.entry(path: path).grid else { return nil }
                return WebDeepZoom(dzi: "\(base)/\(name).dzi", width: grid.width, height: grid.height, tileSize: grid.tileSize,
                                   minLevel: grid.minLevel, maxLevel: grid.maxLevel)
            }
            return WebSlideResponse(result: WebSlide.result(slide.job, outbox: outbox), slide: image(slide.original, "slide"),
                                    mask: image(slide.mask, "mask"), downloads: slide.downloads)
        })
    }

    /// `?x=&y=` in slide pixels: the nucleus there, by its measurements; 404 where there is none.
    func nucleus(_ request: Request, _ slide: WebSlide) async throws -> [String: String] {
        guard let x = request.uri.queryParameters.get("x").flatMap(Double.init), let y = request.uri.queryParameters.get("y").flatMap(Double.init),
              x.isFinite, y.isFinite else { throw HTTPError(.badRequest, message: "x and y must be numbers (slide pixels)") }
        guard let found = try await dependencies.web.run({ slide.nucleus(x: x, y: y) }) else {
            throw HTTPError(.notFound, message: "no nucleus at (\(x), \(y))")
        }
        return found
    }

    /// A file from the outbox as a download, read on the web pool.
    func file(_ path: String, downloadAs name: String) async throws -> Response {
        guard let data = try await dependencies.web.run({ FileManager.default.contents(atPath: path) }) else {
            throw HTTPError(.notFound, message: "\(name) is not there")
        }
        let type = name.hasSuffix(".json") || name.hasSuffix(".geojson") ? "application/json"
            : name.hasSuffix(".csv") ? "text/csv; charset=utf-8" : name.hasSuffix(".png") ? "image/png"
            : name.hasSuffix(".tif") ? "image/tiff" : "application/octet-stream"
        let quoted = name.replacingOccurrences(of: "\"", with: "_").replacingOccurrences(of: "\\", with: "_")
        return Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(quoted)\""],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension WebResultsResponse: ResponseEncodable {}
extension WebSlideResponse: ResponseEncodable {}
