/// The heatmap page served at `/`: one self-contained HTML document (CSS and JavaScript inline,
/// no CDN, no build step), drawn on a canvas from `GET /api/v1/keyviz/matrix`.
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
    ], body: Array(html.utf8))

    // `html` is in HeatmapPage+HTML.swift, generated from Page/heatmap.html by scripts/generate-page.py.
}
