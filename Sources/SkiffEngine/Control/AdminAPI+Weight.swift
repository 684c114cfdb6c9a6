import SkiffControl
import SkiffJSON

extension AdminAPI {
    /// `POST /api/v1/hosts/{cluster}/{host}/weight` with `{"weight":N}` or the bare number: as `host.set_weight`.
    /// Anything but an integer from 0 to 128 is answered 400 with the reason.
    static func weightRoute(_ req: AdminRequest, _ control: EngineControl) -> AdminResponse {
        func refuse(_ message: String) -> AdminResponse {
            .json(Array("{\"error\":\"\(message.replacingQuotes)\"}".utf8), status: 400)
        }
        var text = String(decoding: req.body, as: UTF8.self)
        if let v = try? JSONParser.parse(req.body), case .object(let m) = v {
            guard let member = m.first(where: { $0.key == "weight" })?.value else {
                return refuse("the body needs a weight: {\"weight\":N} or the bare number")
            }
            guard case .number(let n) = member else { return refuse("weight must be an integer from 0 to 128") }
            text = n
        }
        text = text.filter { !$0.isWhitespace }
        guard let weight = Int(text) else {
            return refuse("weight must be an integer from 0 to 128, got \"\(text.prefix(40))\"")
        }
        switch control.setHostWeight(
            cluster: req.pathParameters[0], host: req.pathParameters[1], weight: weight,
            uid: req.peerUID ?? UInt32.max, via: "admin http \(req.remoteAddress)")
        {
        case .ok(let fields): return .json(fields)
        case .error(let e): return refuse(e)
        }
    }
}
