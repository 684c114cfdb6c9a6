/// SkiffNet's users see the systems layer through it: `SystemError`, `IOResult`, `MonotonicClock`, `NetThread`,
/// `ConditionLock`, `SocketIO` and `AcceptLoop` live in `SkiffSystem` (below SkiffNet, shared with the control plane
/// and telemetry), and every `import SkiffNet` brings them along.
@_exported import SkiffSystem
