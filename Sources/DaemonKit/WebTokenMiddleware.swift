import Foundation
import Hummingbird

/// The access check on the web page's TCP listener when `http_token` is set. A request passes with
/// `Authorization: Bearer TOKEN` (scripts, a reverse proxy) or the `unetd_token` cookie (a browser).
/// A browser gets the cookie by opening any page once with `?token=TOKEN`: it is answered with a
/// redirect to the same page without the token, so the token does not stay in the address bar or history.
/// Anything else gets 401 with a line saying what to do.
struct WebTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    static var cookieName: String { "unetd_token" }
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let presented = Self.bearer(request) ?? request.cookies[Self.cookieName]?.value, matches(presented) {
            return try await next(request, context)
        }
        if let presented = request.uri.queryParameters.get("token"), matches(presented) {
            let rest = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("token=") }
            var response = Response(status: .seeOther,
                                    headers: [.location: request.uri.path + (rest.isEmpty ? "" : "?" + rest.joined(separator: "&"))])
            response.setCookie(Cookie(name: Self.cookieName, value: token, path: "/", httpOnly: true, sameSite: .strict))
            return response
        }
        return Response(status: .unauthorized,
                        headers: [.contentType: "text/plain; charset=utf-8", .wwwAuthenticate: "Bearer realm=\"unetd\""],
                        body: .init(byteBuffer: .init(string: "unetd: this page needs the lab's access token: open the address you were given "
                            + "(it ends in ?token=…), or send Authorization: Bearer TOKEN\n")))
    }

    private static func bearer(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.lowercased().hasPrefix("bearer ") else { return nil }
        return String(value.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// Compares every byte whatever the first difference, so the time taken says nothing about the token.
    private func matches(_ presented: String) -> Bool {
        let expected = Array(token.utf8), given = Array(presented.utf8)
        var difference = UInt8(expected.count == given.count ? 0 : 1)
        for index in expected.indices { difference |= expected[index] ^ (index < given.count ? given[index] : 0) }
        return difference == 0
    }
}
