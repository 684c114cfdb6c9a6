import SkiffControl

/// The `skiff_xds_*` families of `/metrics`: the control plane connection, streams opened, listeners waiting for
/// their routes or endpoints, and per resource type (`type` label: `CDS`, `EDS`, `LDS`, `RDS`) responses received,
/// ACKed, NACKed and the resources held. Written only when the engine has a dynamic source (the config has
/// `dynamic_resources`); the writer groups each family under one HELP/TYPE. Every type is written from the first
/// scrape, zeros included, so `rate()` and `increase()` work before the first push. On the scraping thread; the source copies its status under its own lock.
extension AdminAPI {
    static func xdsFamilies(_ p: inout PrometheusWriter, _ engine: Engine) {
        guard let s = engine.dynamicSource?.summary else { return }
        p.gauge(
            name: "skiff_xds_connected", help: "1 while an ADS stream to the control plane is open, else 0.",
            value: s.connected ? 1 : 0)
        p.counter(
            name: "skiff_xds_connects_total", help: "ADS streams opened to the control plane (the first one included).",
            value: s.connects)
        p.gauge(
            name: "skiff_xds_waiting_listeners",
            help: "LDS listeners not bound yet, waiting for their routes (RDS) or endpoints (EDS).", value: s.waiting)
        for t in s.types {
            p.counter(
                name: "skiff_xds_pushes_total", help: "xDS responses received from the control plane, by type.",
                labels: [("type", t.type)], value: t.pushes)
            p.counter(
                name: "skiff_xds_acks_total", help: "xDS responses applied and ACKed, by type.",
                labels: [("type", t.type)], value: t.acks)
            p.counter(
                name: "skiff_xds_nacks_total",
                help: "xDS responses refused (NACKed), by type; the type keeps its previous state.",
                labels: [("type", t.type)], value: t.nacks)
            p.gauge(
                name: "skiff_xds_resources", help: "Resources of the accepted version, by type.",
                labels: [("type", t.type)], value: t.resources)
        }
    }
}
