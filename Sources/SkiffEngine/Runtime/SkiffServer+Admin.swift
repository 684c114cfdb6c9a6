import SkiffConfig
import SkiffControl

extension SkiffServer {
    /// The admin API on `a.address` with the engine's routes and the access policy (`admin.token`): on the socket a
    /// binary upgrade handed over when there is one for that address, else bound here. The port is never shared
    /// with another skiff (SO_REUSEPORT only when upgrading from a skiff that did not hand its admin socket over).
    func startAdmin(_ a: AdminConfig, handover: (any UpgradeHandover)?) throws -> AdminHTTPServer {
        var c = AdminHTTPServer.Configuration(port: a.address.port)
        c.host = a.address.host
        c.access = .forAddress(host: a.address.host, port: a.address.port, token: a.token)
        if let h = handover {
            if let fd = h.takeAdminSocket(address: a.address.description) {
                c.inheritedFD = fd
            } else if !h.handedAdminSocket {
                c.reusePort = true
            }
        }
        let server = AdminHTTPServer(configuration: c)
        engine.installAdminAPI(on: server, control: control)
        try server.start()
        if !c.access!.loopbackOnly {
            if a.token == nil {
                let warning =
                    "admin API on \(a.address) listens beyond loopback without admin.token: it serves reads only; "
                    + "set admin.token to change host states through it"
                logger.warning("\(warning)")
            } else {
                logger.notice("admin API on \(a.address) listens beyond loopback: changes need admin.token")
            }
        }
        logger.info("admin API on \(a.address.host):\(server.port)")
        return server
    }
}
