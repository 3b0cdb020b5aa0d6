/// The heatmap page served at `/`: one self-contained HTML document (CSS and JavaScript inline,
/// no CDN, no build step), drawn on a canvas from `GET /api/v1/keyviz/matrix`.
///
/// Its sources are three files under `Page/` (heatmap.html, heatmap.css, heatmap.js) that
/// editors, linters, `node --check` and a browser open as they are; SwiftPM embeds them in the
/// binary at build time (`embedInCode` resources: no bundle to ship, no Foundation), and the
/// page's stylesheet link and script tag are replaced by the files' text, so a scrape of `/` is
/// one request with nothing fetched from anywhere else.
///
/// Same-origin fetches only, built from `location.origin`, so the browser's basic-auth
/// credentials and TLS apply as they did to the page. Key text reaches the DOM only through
/// `textContent`, never as markup. `window.keyviz` exposes the page's state to the browser test
/// (scripts/browser-test.py).
enum HeatmapPage {
    /// Served with `no-cache` (revalidate each time: a new binary may serve a new page) and a
    /// content security policy that allows nothing but this document and same-origin fetches.
    static let response = KeyVizHTTPResponse(status: 200, headers: [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-cache"),
        ("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ], body: document)

    /// The tags in heatmap.html that name the other two files, as a browser opening the file
    /// from disk follows them.
    static let stylesheetLink = Array(#"<link rel="stylesheet" href="heatmap.css">"#.utf8)
    static let scriptTag = Array(#"<script src="heatmap.js"></script>"#.utf8)

    /// The served document: the embedded page with its stylesheet and script inline.
    static let document: [UInt8] = inline(html: PackageResources.heatmap_html,
                                          css: PackageResources.heatmap_css, js: PackageResources.heatmap_js)

    /// `html` with its one stylesheet link replaced by `<style>` + `css` and its one script tag by
    /// `<script>` + `js`. The files are the package's own, so a page that lost a tag, or a script
    /// that would end its inline element early, is a build mistake: it stops here, at first use,
    /// and HeatmapPageTests fails on it.
    static func inline(html: [UInt8], css: [UInt8], js: [UInt8]) -> [UInt8] {
        precondition(js.firstRange(of: Array("</script".utf8)) == nil, "heatmap.js contains </script, which would end the inline script")
        precondition(css.firstRange(of: Array("</style".utf8)) == nil, "heatmap.css contains </style, which would end the inline style")
        var page = replacingOnce(stylesheetLink, in: html, with: Array("<style>\n".utf8) + css + Array("</style>".utf8))
        page = replacingOnce(scriptTag, in: page, with: Array("<script>\n".utf8) + js + Array("</script>".utf8))
        return page
    }

    private static func replacingOnce(_ tag: [UInt8], in bytes: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard let range = bytes.firstRange(of: tag), bytes[range.upperBound...].firstRange(of: tag) == nil else {
            preconditionFailure("heatmap.html must name \(String(decoding: tag, as: UTF8.self)) exactly once")
        }
        var out = bytes
        out.replaceSubrange(range, with: replacement)
        return out
    }
}
