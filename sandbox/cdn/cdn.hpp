#pragma once
// The media CDN: GET /cdn/{jpeg|png|gif|webp|mp4}[/any-name.ext] with query options
//   bytes=N            size of the file (at least the format's natural size for the dimensions)
//   width=W height=H   dimensions (images default 1080x1080, video 1080x1920)
//   duration=S fps=F   video length and frame rate (default 5 s at 30 fps)
//   slow_ms=D chunk=B  pace the body: B bytes (default 64 KiB) every D ms
//   truncate=M         announce the full length, send M body bytes, then reset the connection
//   type=MIME          Content-Type lies: send MIME instead of the real type (wrong_type=1: text/html)
// HEAD answers the same headers without the body.
#include <memory>

#include "sandbox/core/core.hpp"

namespace schedulo::sandbox::cdn {

std::shared_ptr<void> install(Core& core);

}  // namespace schedulo::sandbox::cdn
