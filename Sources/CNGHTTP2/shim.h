// The system libnghttp2 (Debian libnghttp2-dev): the HTTP/2 framing, HPACK and flow control under SkiffProtocol's
// HTTP2Session.
#include <nghttp2/nghttp2.h>
