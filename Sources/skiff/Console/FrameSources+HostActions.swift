import Glibc
import SkiffControl
import SkiffEngine
import SkiffJSON

/// The console's `M` (MAINT closing connections) and `w` (weight), in-process and over the control socket.
extension InProcessSource {
    func setHostState(cluster: String, host: String, state: String, kill: Bool) -> String {
        switch control.setHostState(cluster: cluster, host: host, state: state, uid: getuid(), via: "console", kill: kill) {
        case .ok: return "\(cluster)/\(host) -> \(state.uppercased())\(kill ? " (connections closed)" : "")"
        case .error(let e): return "error: \(e)"
        }
    }

    func setHostWeight(cluster: String, host: String, weight: Int) -> String {
        switch control.setHostWeight(cluster: cluster, host: host, weight: weight, uid: getuid(), via: "console") {
        case .ok: return "\(cluster)/\(host) weight -> \(weight)"
        case .error(let e): return "error: \(e)"
        }
    }
}

extension SocketSource {
    func setHostState(cluster: String, host: String, state: String, kill: Bool) -> String {
        request(
            "{\"id\":2,\"cmd\":\"host.set_state\",\"cluster\":\(quoted(cluster)),\"host\":\(quoted(host)),"
                + "\"state\":\(quoted(state)),\"kill\":\(kill)}",
            done: "\(cluster)/\(host) -> \(state.uppercased())\(kill ? " (connections closed)" : "")")
    }

    func setHostWeight(cluster: String, host: String, weight: Int) -> String {
        request(
            "{\"id\":2,\"cmd\":\"host.set_weight\",\"cluster\":\(quoted(cluster)),\"host\":\(quoted(host)),\"weight\":\(weight)}",
            done: "\(cluster)/\(host) weight -> \(weight)")
    }

    /// One request on a connection of its own; the status line says what happened.
    private func request(_ line: String, done: String) -> String {
        do {
            let c = try ControlClient(path: path, answerTimeoutNs: answerTimeoutNs)
            _ = try c.request(line)
            return done
        } catch {
            return "error: \(error)"
        }
    }
}
