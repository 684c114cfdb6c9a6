import SkiffJSON

/// `"text"` with quotes escaped and long values shortened, for the decoder's error messages (SkiffJSON's rule, so a
/// config error and a JSON syntax error quote alike).
func quoted(_ s: String, limit: Int = 60) -> String { quotedForMessage(s, limit: limit) }
