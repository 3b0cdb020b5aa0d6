public import KeyViz

/// Split advice as the JSON of `GET /api/v1/keyviz/split-advice`:
/// `{"generated_at":…,"sample_every":…,"advice":[{"route_id","op","rank","verdict","key" (base64),
/// "key_preview" ("" without advice),"truncated","left_share","left_share_error_bound","balance","samples",
/// "start","end","start_preview","end_preview" (the route's range, spelled as matrix rows spell it)}],"scope","node_id"}`
/// (docs/api.md, docs/openapi.yaml).
public enum SplitAdviceJSON {
    public static func encode(_ advice: [SplitAdvice], sampleEvery: Int, generatedAt: String) -> [UInt8] {
        encode(advice, sampleEvery: sampleEvery, generatedAt: generatedAt, extra: [])
    }

    package static func encode(_ advice: [SplitAdvice], sampleEvery: Int, generatedAt: String, extra: [UInt8]) -> [UInt8] {
        var o: [UInt8] = Array(#"{"generated_at":"#.utf8)
        MatrixJSON.string(generatedAt, &o)
        o.append(contentsOf: #","sample_every":"#.utf8); o.append(contentsOf: String(sampleEvery).utf8)
        o.append(contentsOf: #","advice":["#.utf8)
        for (i, a) in advice.enumerated() {
            if i > 0 { o.append(UInt8(ascii: ",")) }
            o.append(contentsOf: #"{"route_id":"#.utf8); o.append(contentsOf: String(a.route.rawValue).utf8)
            o.append(contentsOf: #","op":"#.utf8); MatrixJSON.string(a.op.description, &o)
            o.append(contentsOf: #","rank":"#.utf8); o.append(contentsOf: String(a.rank).utf8)
            o.append(contentsOf: #","verdict":"#.utf8); MatrixJSON.string(a.verdict.rawValue, &o)
            o.append(contentsOf: #","key":""#.utf8); Base64.encode(a.key, into: &o)
            o.append(contentsOf: #"","key_preview":"#.utf8); MatrixJSON.string(a.verdict == .tooFewSamples ? "" : KeyPreview.render(a.key, maxLength: MatrixJSON.previewLength), &o)
            o.append(contentsOf: #","truncated":"#.utf8); o.append(contentsOf: (a.truncated ? "true" : "false").utf8)
            o.append(contentsOf: #","left_share":"#.utf8); o.append(contentsOf: HotKeysJSON.number(a.leftShare).utf8)
            o.append(contentsOf: #","left_share_error_bound":"#.utf8); o.append(contentsOf: HotKeysJSON.number(a.leftShareErrorBound).utf8)
            o.append(contentsOf: #","balance":"#.utf8); o.append(contentsOf: HotKeysJSON.number(a.balance).utf8)
            o.append(contentsOf: #","samples":"#.utf8); o.append(contentsOf: String(a.samples).utf8)
            MatrixJSON.bounds(a.routeStart, a.routeEnd, &o)
            o.append(UInt8(ascii: "}"))
        }
        o.append(UInt8(ascii: "]"))
        o.append(contentsOf: extra)
        o.append(UInt8(ascii: "}"))
        return o
    }
}
