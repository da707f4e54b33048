// Media inspection, platform limits and staging (label `http`). Files are built byte by byte
// (tests/support/media_files); staging downloads them from the test server over a real socket.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "platforms/http/media_info.hpp"
#include "platforms/http/media_limits.hpp"
#include "platforms/http/staging.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/media_files.hpp"
#include "tests/support/run.hpp"

namespace schedulo::http {
namespace {

using namespace std::chrono_literals;
using test::Mp4Spec;

MediaInfo inspect_ok(const std::string& bytes) {
  auto info = inspect_media(MemoryReader(bytes));
  EXPECT_TRUE(info) << (info ? "" : info.error().message);
  return info ? *info : MediaInfo{};
}

std::string inspect_error(const std::string& bytes) {
  auto info = inspect_media(MemoryReader(bytes));
  EXPECT_FALSE(info);
  if (info) return {};
  EXPECT_EQ(info.error().kind, ErrorKind::bad_media);
  return info.error().message;
}

// --- type and image dimensions ---

TEST(MediaInspect, JpegTypeAndDimensionsComeFromTheFrameHeader) {
  const MediaInfo info = inspect_ok(test::jpeg_file(1080, 1350));
  EXPECT_EQ(info.type, MediaType::jpeg);
  EXPECT_EQ(info.width, 1080u);
  EXPECT_EQ(info.height, 1350u);
}

TEST(MediaInspect, PngDimensionsComeFromIhdr) {
  const MediaInfo info = inspect_ok(test::png_file(640, 480));
  EXPECT_EQ(info.type, MediaType::png);
  EXPECT_EQ(info.width, 640u);
  EXPECT_EQ(info.height, 480u);
}

TEST(MediaInspect, GifDimensionsComeFromTheScreenDescriptor) {
  const MediaInfo info = inspect_ok(test::gif_file(320, 240));
  EXPECT_EQ(info.type, MediaType::gif);
  EXPECT_EQ(info.width, 320u);
  EXPECT_EQ(info.height, 240u);
}

TEST(MediaInspect, WebpDimensionsAreReadFromEachOfItsThreeForms) {
  for (const auto kind : {test::WebpKind::lossy, test::WebpKind::lossless, test::WebpKind::extended}) {
    const MediaInfo info = inspect_ok(test::webp_file(kind, 1000, 750));
    EXPECT_EQ(info.type, MediaType::webp);
    EXPECT_EQ(info.width, 1000u);
    EXPECT_EQ(info.height, 750u);
  }
}

TEST(MediaInspect, WebmDurationDimensionsCodecAndFrameRateComeFromInfoAndTracks) {
  const MediaInfo info = inspect_ok(test::webm_file());
  EXPECT_EQ(info.type, MediaType::webm);
  EXPECT_EQ(info.width, 1280u);
  EXPECT_EQ(info.height, 720u);
  ASSERT_TRUE(info.duration_s);
  EXPECT_DOUBLE_EQ(*info.duration_s, 12.5);
  EXPECT_EQ(info.codec, "vp09");
  ASSERT_TRUE(info.frame_rate);
  EXPECT_NEAR(*info.frame_rate, 30.0, 0.001);
  EXPECT_TRUE(info.has_audio);
}

TEST(MediaInspect, WebmWithAnUnknownSegmentSizeIsReadUpToItsFirstCluster) {
  test::WebmSpec spec;
  spec.unknown_segment_size = true;
  spec.audio_track = false;
  const MediaInfo info = inspect_ok(test::webm_file(spec));
  EXPECT_EQ(info.width, 1280u);
  EXPECT_FALSE(info.has_audio);
}

TEST(MediaInspect, TruncatedWebmIsRefused) {
  const std::string file = test::webm_file();
  EXPECT_NE(inspect_error(file.substr(0, file.size() - 20)).find("truncated WebM"), std::string::npos);
  EXPECT_NE(inspect_error(file.substr(0, 30)).find("truncated WebM"), std::string::npos);
}

TEST(MediaInspect, MatroskaIsRefusedAsNotWebm) {
  std::string file = test::webm_file();
  const std::string doc_type = std::string("\x42\x82\x01", 3) + std::string(6, '\0') + '\x04' + "webm";
  file.replace(file.find(doc_type), doc_type.size(),
               std::string("\x42\x82\x01", 3) + std::string(6, '\0') + '\x08' + "matroska");
  EXPECT_NE(inspect_error(file).find("Matroska"), std::string::npos);
}

TEST(MediaInspect, FileSizeIsTheByteCount) {
  const std::string file = test::png_file(10, 10);
  EXPECT_EQ(inspect_ok(file).bytes, file.size());
}

// --- MP4 / MOV ---

TEST(MediaInspect, Mp4DurationDimensionsCodecAndFrameRateComeFromTheMoovBoxes) {
  Mp4Spec spec;  // 1080x1920, 30 s, 900 frames of 1000/30000 s
  const MediaInfo info = inspect_ok(test::mp4_file(spec));
  EXPECT_EQ(info.type, MediaType::mp4);
  EXPECT_EQ(info.width, 1080u);
  EXPECT_EQ(info.height, 1920u);
  ASSERT_TRUE(info.duration_s);
  EXPECT_DOUBLE_EQ(*info.duration_s, 30.0);
  ASSERT_TRUE(info.frame_rate);
  EXPECT_DOUBLE_EQ(*info.frame_rate, 30.0);
  EXPECT_EQ(info.codec, "avc1");
  EXPECT_TRUE(info.has_audio);
}

TEST(MediaInspect, NtscFrameRateIsReadExactly) {
  Mp4Spec spec;
  spec.frame_delta = 1001;  // 30000/1001 = 29.97 fps
  const MediaInfo info = inspect_ok(test::mp4_file(spec));
  ASSERT_TRUE(info.frame_rate);
  EXPECT_NEAR(*info.frame_rate, 29.97, 0.001);
}

TEST(MediaInspect, QuickTimeBrandIsAMovWithMoovAfterTheMediaData) {
  Mp4Spec spec;
  spec.quicktime = true;
  spec.moov_last = true;
  spec.codec = "hvc1";
  spec.audio_track = false;
  const MediaInfo info = inspect_ok(test::mp4_file(spec));
  EXPECT_EQ(info.type, MediaType::mov);
  EXPECT_EQ(info.codec, "hvc1");
  EXPECT_FALSE(info.has_audio);
}

TEST(MediaInspect, Version1HeadersGiveTheSameFacts) {
  Mp4Spec spec;
  spec.version1_headers = true;
  spec.movie_duration = 95'200;
  const MediaInfo info = inspect_ok(test::mp4_file(spec));
  ASSERT_TRUE(info.duration_s);
  EXPECT_DOUBLE_EQ(*info.duration_s, 95.2);
  EXPECT_EQ(info.width, 1080u);
}

TEST(MediaInspect, QuarterTurnMatrixSwapsTheDisplayedDimensions) {
  Mp4Spec spec;
  spec.width = 1920;  // coded landscape, shown portrait (a phone video)
  spec.height = 1080;
  spec.quarter_turn = true;
  const MediaInfo info = inspect_ok(test::mp4_file(spec));
  EXPECT_EQ(info.width, 1080u);
  EXPECT_EQ(info.height, 1920u);
}

// --- truncated, corrupt and mislabelled files ---

TEST(MediaInspect, EveryTruncationOfEachFormatIsRefusedOrReadConsistently) {
  // Cut at every length: never a crash, and a cut that still parses must give the same facts.
  const std::string files[] = {test::jpeg_file(100, 50), test::png_file(100, 50), test::gif_file(100, 50),
                               test::webp_file(test::WebpKind::extended, 100, 50)};
  for (const auto& file : files) {
    for (std::size_t cut = 0; cut < file.size(); ++cut) {
      auto info = inspect_media(MemoryReader(std::string_view(file).substr(0, cut)));
      if (info) {
        EXPECT_EQ(info->width, 100u);
        EXPECT_EQ(info->height, 50u);
      }
    }
  }
}

TEST(MediaInspect, TruncatedMp4IsRefusedWhereverItIsCut) {
  const std::string file = test::mp4_file(Mp4Spec{});
  for (std::size_t cut = 1; cut < file.size(); cut += 7) {
    auto info = inspect_media(MemoryReader(std::string_view(file).substr(0, cut)));
    ASSERT_FALSE(info) << "cut at " << cut;
    EXPECT_EQ(info.error().kind, ErrorKind::bad_media);
  }
  EXPECT_NE(inspect_error(file.substr(0, file.size() - 10)).find("truncated MP4"), std::string::npos);
}

TEST(MediaInspect, TruncatedPngNamesTheFormat) {
  EXPECT_EQ(inspect_error(test::png_file(10, 10).substr(0, 20)), "truncated PNG file");
}

TEST(MediaInspect, Mp4WithoutAVideoTrackIsRefused) {
  std::string file = test::mp4_file(Mp4Spec{});
  const auto at = file.find("vide");
  file.replace(at, 4, "text");
  EXPECT_NE(inspect_error(file).find("without a video track"), std::string::npos);
}

TEST(MediaInspect, HtmlServedAsAnImageIsNotMedia) {
  const std::string message = inspect_error("<!DOCTYPE html><html><body>Not found</body></html>");
  EXPECT_NE(message.find("not a media type we accept"), std::string::npos);
  EXPECT_NE(message.find("3c 21 44 4f"), std::string::npos) << message;
}

TEST(MediaInspect, EmptyFileIsNotMedia) {
  EXPECT_NE(inspect_error("").find("the file is empty"), std::string::npos);
}

TEST(MediaInspect, PngNamedJpegIsAPngAndInstagramFeedRefusesIt) {
  const MediaInfo info = inspect_ok(test::png_file(1080, 1080));  // served as photo.jpg
  EXPECT_EQ(info.type, MediaType::png);
  auto broken = check_media(MediaTarget::instagram_image, info);
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->kind, ErrorKind::media_rejected);
  EXPECT_EQ(broken->message,
            "file type PNG is not accepted by Instagram feed images (JPEG) (platform-apis.md 1.1)");
}

// --- limits ---

MediaInfo still(MediaType type, std::uint64_t bytes, std::uint32_t w, std::uint32_t h);

MediaInfo video(double duration, double fps, std::uint32_t w, std::uint32_t h, std::string codec = "avc1") {
  MediaInfo info = still(MediaType::mp4, 10'000'000, w, h);
  info.duration_s = duration;
  info.frame_rate = fps;
  info.codec = std::move(codec);
  return info;
}

MediaInfo still(MediaType type, std::uint64_t bytes, std::uint32_t w, std::uint32_t h) {
  MediaInfo info;
  info.type = type;
  info.bytes = bytes;
  info.width = w;
  info.height = h;
  return info;
}

std::string broken_rule(MediaTarget target, const MediaInfo& info) {
  auto broken = check_media(target, info);
  return broken ? broken->message : "";
}

TEST(MediaLimits, ReelLongerThanFacebooksLimitNamesTheRuleAndTheValue) {
  EXPECT_EQ(broken_rule(MediaTarget::facebook_reel, video(95.2, 30, 1080, 1920)),
            "video duration 95.2 s exceeds Facebook reels' 90 s limit (platform-apis.md 4.2)");
}

TEST(MediaLimits, InstagramReelsAcceptUpToFifteenMinutes) {
  EXPECT_EQ(broken_rule(MediaTarget::instagram_reel, video(899, 30, 1080, 1920)), "");
  EXPECT_EQ(broken_rule(MediaTarget::instagram_reel, video(901.5, 30, 1080, 1920)),
            "video duration 901.5 s exceeds Instagram reels' 900 s limit (platform-apis.md 1.1)");
}

TEST(MediaLimits, ShortFacebookReelIsBelowTheMinimum) {
  EXPECT_EQ(broken_rule(MediaTarget::facebook_reel, video(2.0, 30, 1080, 1920)),
            "video duration 2.0 s is below Facebook reels' 3 s minimum (platform-apis.md 4.2)");
}

TEST(MediaLimits, TikTokRefusesALowFrameRate) {
  EXPECT_EQ(broken_rule(MediaTarget::tiktok_video, video(30, 15, 1080, 1920)),
            "frame rate 15.00 fps is below TikTok videos' 23 fps minimum (platform-apis.md 2.5)");
}

TEST(MediaLimits, TikTokRefusesAnUnlistedCodec) {
  EXPECT_EQ(broken_rule(MediaTarget::tiktok_video, video(30, 30, 1080, 1920, "mp4v")),
            "video codec mp4v is not accepted by TikTok videos (H.264, H.265, VP8, VP9) (platform-apis.md 2.5)");
}

TEST(MediaLimits, TikTokRefusesAnAv1Webm) {
  test::WebmSpec spec;
  spec.codec_id = "V_AV1";
  EXPECT_EQ(broken_rule(MediaTarget::tiktok_video, inspect_ok(test::webm_file(spec))),
            "video codec av01 is not accepted by TikTok videos (H.264, H.265, VP8, VP9) (platform-apis.md 2.5)");
  EXPECT_EQ(broken_rule(MediaTarget::tiktok_video, inspect_ok(test::webm_file())), "");
}

TEST(MediaLimits, TikTokRefusesASideShorterThan360Pixels) {
  EXPECT_EQ(broken_rule(MediaTarget::tiktok_video, video(30, 30, 320, 568)),
            "shorter side 320 px (320x568) is below TikTok videos' 360 px minimum (platform-apis.md 2.5)");
}

TEST(MediaLimits, FacebookReelSmallerThan540x960IsRefused) {
  EXPECT_EQ(broken_rule(MediaTarget::facebook_reel, video(30, 30, 480, 854)),
            "width 480 px is below Facebook reels' 540 px minimum (platform-apis.md 4.2)");
}

TEST(MediaLimits, InstagramFeedImageOutsideTheAspectRangeIsRefused) {
  MediaInfo tall = still(MediaType::jpeg, 100'000, 1080, 1920);
  EXPECT_EQ(broken_rule(MediaTarget::instagram_image, tall),
            "aspect ratio 0.56 (1080x1920) is outside Instagram feed images' 0.80-1.91 range (platform-apis.md 1.1)");
  tall.height = 1350;  // 4:5 exactly
  EXPECT_EQ(broken_rule(MediaTarget::instagram_image, tall), "");
}

TEST(MediaLimits, XImageOverFiveMibIsRefusedButAGifMayBeLarger) {
  MediaInfo image = still(MediaType::png, 6 * 1024 * 1024, 800, 800);
  EXPECT_EQ(broken_rule(MediaTarget::x_image, image),
            "file size 6 MiB exceeds X images' 5 MiB limit (platform-apis.md 3.4)");
  image.type = MediaType::gif;
  EXPECT_EQ(media_target("x", "image", "", MediaType::gif), MediaTarget::x_gif);
  EXPECT_EQ(broken_rule(MediaTarget::x_gif, image), "");
}

TEST(MediaLimits, TikTokPhotoAboveTenEightyIsRefused) {
  EXPECT_EQ(broken_rule(MediaTarget::tiktok_photo, still(MediaType::webp, 1'000'000, 1440, 1920)),
            "shorter side 1440 px (1440x1920) exceeds TikTok photos' 1080 px limit (platform-apis.md 2.6)");
}

TEST(MediaLimits, VideoKindWithAnImageFileIsRefusedByType) {
  EXPECT_EQ(broken_rule(MediaTarget::tiktok_video, inspect_ok(test::jpeg_file(1080, 1920))),
            "file type JPEG is not accepted by TikTok videos (MP4, MOV, WebM) (platform-apis.md 2.5)");
}

TEST(MediaLimits, JobOptionsChooseTheTarget) {
  EXPECT_EQ(media_target("instagram", "video", "reel", MediaType::mp4), MediaTarget::instagram_reel);
  EXPECT_EQ(media_target("instagram", "image", "story", MediaType::jpeg), MediaTarget::instagram_story_image);
  EXPECT_EQ(media_target("facebook", "video", "reel", MediaType::mp4), MediaTarget::facebook_reel);
  EXPECT_EQ(media_target("facebook", "video", "post", MediaType::mp4), MediaTarget::facebook_video);
  EXPECT_EQ(media_target("tiktok", "image", "", MediaType::jpeg), MediaTarget::tiktok_photo);
  EXPECT_FALSE(media_target("myspace", "image", "", MediaType::jpeg));
}

// --- staging over a real socket ---

class Staging : public ::testing::Test {
 protected:
  void serve(std::string body) {
    server_ = std::make_unique<test::HttpTestServer>([body = std::move(body)](const test::ServerRequest&) {
      test::ServerReply reply;
      reply.body = body;
      return reply;
    });
  }
  Result<StagedMedia> stage(MediaTarget target, StageOptions options = {}) {
    options.dir = dir_.path();
    return test::run_for(io_, stage_media(client_, server_->url("/media"), target, options), 30s);
  }
  std::size_t files_in_dir() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir_.path()), {}));
  }
  static ClientOptions loopback() {
    ClientOptions o;
    o.policy = *AddressPolicy::from_entries({"127.0.0.1"}).policy;
    return o;
  }

  test::TempDir dir_;
  boost::asio::io_context io_;
  HttpClient client_{loopback()};
  std::unique_ptr<test::HttpTestServer> server_;
};

TEST_F(Staging, StagedFileIsPrivateInspectedAndRemovedWithItsObject) {
  const std::string file = test::mp4_file(Mp4Spec{});
  serve(file);
  std::uint64_t last_progress = 0;
  StageOptions options;
  options.progress = [&](std::uint64_t received, std::optional<std::uint64_t>) { last_progress = received; };
  std::string path;
  {
    auto staged = stage(MediaTarget::tiktok_video, options);
    ASSERT_TRUE(staged) << staged.error().message;
    path = staged->path();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), file.size());
    EXPECT_EQ(staged->info().type, MediaType::mp4);
    EXPECT_EQ(staged->info().height, 1920u);
    EXPECT_EQ(last_progress, file.size());
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(Staging, BrokenRuleFailsPermanentlyAndLeavesNoFile) {
  Mp4Spec spec;
  spec.movie_duration = 95'200;
  serve(test::mp4_file(spec));
  auto staged = stage(MediaTarget::facebook_reel);
  ASSERT_FALSE(staged);
  EXPECT_EQ(staged.error().kind, ErrorKind::media_rejected);
  EXPECT_TRUE(staged.error().permanent());
  EXPECT_EQ(staged.error().message, "video duration 95.2 s exceeds Facebook reels' 90 s limit (platform-apis.md 4.2)");
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(Staging, FileOverThePlatformsSizeLimitIsRefusedFromItsContentLength) {
  serve(std::string(5 * 1024 * 1024 + 1, '\xff'));
  auto staged = stage(MediaTarget::x_image);
  ASSERT_FALSE(staged);
  EXPECT_EQ(staged.error().kind, ErrorKind::media_rejected);
  EXPECT_NE(staged.error().message.find("X images' limit of 5242880 bytes"), std::string::npos)
      << staged.error().message;
  EXPECT_EQ(files_in_dir(), 0u);
}

// Without a cap of the caller's, the platform's own limit applies: TikTok's 4 GB, not the 1 GiB
// default meant for targets without one (a 2 GiB TikTok video was refused before it downloaded).
TEST(StagingCap, TheTargetsLimitIsTheDefaultAndAlwaysTheCeiling) {
  constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
  const auto tiktok = limits_for(MediaTarget::tiktok_video).max_bytes;
  EXPECT_GT(tiktok, 2 * kGiB);
  EXPECT_EQ(staging_cap(0, tiktok), tiktok);
  EXPECT_EQ(staging_cap(0, 0), kGiB);
  EXPECT_EQ(staging_cap(5 * kGiB, 0), 5 * kGiB);
  EXPECT_EQ(staging_cap(kGiB, tiktok), kGiB);
  EXPECT_EQ(staging_cap(8 * kGiB, tiktok), tiktok);
}

TEST_F(Staging, TruncatedDownloadIsBadMedia) {
  const std::string file = test::mp4_file(Mp4Spec{});
  serve(file.substr(0, file.size() - 100));
  auto staged = stage(MediaTarget::tiktok_video);
  ASSERT_FALSE(staged);
  EXPECT_EQ(staged.error().kind, ErrorKind::bad_media);
  EXPECT_TRUE(staged.error().permanent());
}

}  // namespace
}  // namespace schedulo::http
