// libFuzzer target: the media inspectors (type detection, image headers, MP4/MOV boxes) on arbitrary
// bytes. They read untrusted downloads: any input must give facts or a bad_media error, never a
// crash, a hang or an out-of-bounds read. The limits check runs on whatever facts come out.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platforms/http/media_info.hpp"
#include "platforms/http/media_limits.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace schedulo::http;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto info = inspect_media(MemoryReader(bytes));
  if (info) {
    for (const auto target : {MediaTarget::instagram_image, MediaTarget::tiktok_video, MediaTarget::facebook_reel,
                              MediaTarget::x_gif})
      (void)check_media(target, *info);
  } else if (info.error().kind != ErrorKind::bad_media) {
    __builtin_trap();  // every refusal of the inspector is bad_media
  }
  return 0;
}
