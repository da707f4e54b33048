// The Debian package (label `ops`): built by CPack from this build tree (the ASan build the suite
// already has; cmake/Packaging.cmake), its Depends checked against the libraries the binaries
// really load, then installed, verified and removed with dpkg inside a throwaway root.
//
// The throwaway root is the host itself seen through an overlay: in a private mount namespace (this
// test process only), a tmpfs holds the overlay's upper layer over a read-only view of "/", and dpkg
// runs chrooted into the merged tree. The host's files and dpkg database are never written (every
// write lands in the tmpfs, gone when the process exits), dpkg resolves dependencies against a real
// Debian 12 system, no network is needed, and no systemd runs in there, as in a container. What the
// package left behind is then read straight from the upper layer. Needs root (mounts, chroot, dpkg).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/command.hpp"

namespace {

namespace fs = std::filesystem;
using schedulo::test::run_command;
using schedulo::test::shell_quote;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// Package names in a Depends field ("libc6 (>= 2.34), libfmt9 (>= 9.1.0+ds1) | x" -> libc6, libfmt9, x).
std::set<std::string> depends_names(const std::string& field) {
  std::set<std::string> names;
  static const std::regex name(R"((^|[,|])\s*([a-z0-9][a-z0-9+.-]+))");
  for (auto it = std::sregex_iterator(field.begin(), field.end(), name); it != std::sregex_iterator(); ++it)
    names.insert((*it)[2].str());
  return names;
}

// The package owning a library file, trying both spellings of a merged-/usr path.
std::string owning_package(const std::string& path) {
  std::vector<std::string> candidates{path};
  if (path.starts_with("/usr/"))
    candidates.push_back(path.substr(4));
  else
    candidates.push_back("/usr" + path);
  std::error_code ec;
  const auto real = fs::canonical(path, ec);
  if (!ec) candidates.push_back(real.string());
  for (const auto& c : candidates) {
    const auto r = run_command("dpkg-query -S " + shell_quote(c) + " 2>/dev/null");
    if (r.status == 0 && !r.out.empty()) {
      const auto owner = r.out.substr(0, r.out.find(':'));
      return owner;
    }
  }
  return {};
}

// Where the dynamic linker finds a library (ldconfig's cache), "" when it does not.
std::string library_path(const std::string& soname) {
  const auto r = run_command("ldconfig -p");
  for (const auto& line : lines(r.out)) {
    if (line.find("\t" + soname + " (") == std::string::npos) continue;
    if (line.find("x86-64") == std::string::npos && line.find("libc6,") == std::string::npos) continue;
    const auto arrow = line.find("=> ");
    if (arrow != std::string::npos) return line.substr(arrow + 3);
  }
  return {};
}

class Overlay {
 public:
  // Returns "" on success, else why it could not be made.
  std::string make() {
    if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
    // Nothing mounted from here on may reach the host's mount table.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      return std::string("making / private: ") + std::strerror(errno);
    char tmpl[] = "/tmp/schedulo-package-test.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
    base_ = tmpl;
    if (::mount("tmpfs", base_.c_str(), "tmpfs", 0, "size=3g,mode=0755") != 0)
      return std::string("tmpfs: ") + std::strerror(errno);
    mounted_ = true;
    for (const char* d : {"upper", "work", "merged"}) fs::create_directory(base_ / d);
    const std::string options = "lowerdir=/,upperdir=" + upper().string() + ",workdir=" + (base_ / "work").string();
    if (::mount("overlay", merged().c_str(), "overlay", 0, options.c_str()) != 0)
      return std::string("overlay: ") + std::strerror(errno);
    if (::mount("proc", (merged() / "proc").c_str(), "proc", 0, nullptr) != 0)
      return std::string("proc: ") + std::strerror(errno);
    if (::mount("/dev", (merged() / "dev").c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      return std::string("/dev: ") + std::strerror(errno);
    return {};
  }
  ~Overlay() {
    if (mounted_) ::umount2(base_.c_str(), MNT_DETACH);  // the overlay, /proc and /dev go with it
    std::error_code ec;
    if (!base_.empty()) fs::remove(base_, ec);
  }
  fs::path upper() const { return base_ / "upper"; }
  fs::path merged() const { return base_ / "merged"; }
  schedulo::test::CommandResult in_root(const std::string& command) const {
    return run_command("chroot " + shell_quote(merged().string()) + " /bin/sh -c " + shell_quote(command) + " 2>&1");
  }
  bool exists(const std::string& path) const {
    std::error_code ec;
    return fs::exists(fs::symlink_status(merged() / path.substr(1), ec));
  }

  // Paths the changes left in the upper layer that the host does not have: new files, links and
  // directories, and whiteouts (files deleted from the host's view), relative to "/".
  std::vector<std::string> new_paths() const {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(upper()); it != fs::recursive_directory_iterator(); ++it) {
      const std::string rel = "/" + fs::relative(it->path(), upper()).string();
      const auto status = it->symlink_status();
      std::error_code ec;
      const bool on_host = fs::exists(fs::symlink_status(rel, ec));
      if (status.type() == fs::file_type::character) {
        out.push_back(rel + " (deleted)");
      } else if (status.type() == fs::file_type::directory) {
        if (!on_host) out.push_back(rel + "/");
      } else {
        out.push_back(rel + (on_host ? " (changed)" : ""));
      }
    }
    return out;
  }

 private:
  fs::path base_;
  bool mounted_ = false;
};

// dpkg's own records and logs, and what systemd-analyze notes about loaded units.
bool bookkeeping(const std::string& path) {
  return path.starts_with("/var/lib/dpkg/") || path.starts_with("/var/log/dpkg.log") ||
         path.starts_with("/run/systemd/systemd-units-load") || path == "/tmp/schedulo.deb";
}

std::vector<std::string> without_bookkeeping(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths)
    if (!bookkeeping(p)) out.push_back(p);
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

const std::vector<std::string> kPackagedFiles{
    "/usr/bin/schedulo",
    "/usr/bin/schedulo-sandbox",
    "/usr/lib/systemd/system/schedulo.service",
    "/etc/schedulo/schedulo.json.example",
    "/usr/share/doc/schedulo/README.md",
    "/usr/share/doc/schedulo/architecture.md",
    "/usr/share/doc/schedulo/integration-points.md",
    "/usr/share/doc/schedulo/platform-setup.md",
    "/usr/share/doc/schedulo/operations.md",
    "/usr/share/doc/schedulo/examples/schedulo.json.example",
    "/usr/share/doc/schedulo/examples/schedulo.all-keys.json",
};
constexpr const char* kEnableLink = "/etc/systemd/system/multi-user.target.wants/schedulo.service";

TEST(CmakeInstall, LaysOutBinariesUnitExampleAndDocsUnderThePrefixWithTheUnitPointingThere) {
  const fs::path prefix = fs::temp_directory_path() / ("schedulo-install-" + std::to_string(::getpid()));
  fs::remove_all(prefix);
  const auto install = run_command("cmake --install " + shell_quote(SCHEDULO_BUILD_DIR) + " --prefix " +
                                   shell_quote(prefix.string()) + " 2>&1");
  ASSERT_EQ(install.status, 0) << install.out;
  for (const auto& line : lines(install.out)) {
    const auto at = line.find(": /");
    if (line.starts_with("-- Installing") || line.starts_with("-- Up-to-date")) {
      EXPECT_TRUE(at != std::string::npos && line.substr(at + 2).starts_with(prefix.string()))
          << "installed outside the prefix: " << line;
    }
  }
  for (const char* f : {"bin/schedulo", "bin/schedulo-sandbox", "lib/systemd/system/schedulo.service",
                        "etc/schedulo/schedulo.json.example", "share/doc/schedulo/README.md",
                        "share/doc/schedulo/operations.md", "share/doc/schedulo/examples/schedulo.all-keys.json"}) {
    EXPECT_TRUE(fs::is_regular_file(prefix / f)) << f;
  }
  std::ifstream unit(prefix / "lib/systemd/system/schedulo.service");
  const std::string text((std::istreambuf_iterator<char>(unit)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("ExecStart=" + prefix.string() + "/bin/schedulo run --config " + prefix.string() +
                      "/etc/schedulo/schedulo.json\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("/usr/bin/schedulo"), std::string::npos) << "a path outside the prefix is left in the unit";
  // The unit as installed verifies (its ExecStart exists now) where systemd-analyze is present.
  if (run_command("command -v systemd-analyze").status == 0) {
    const auto verify = run_command("systemd-analyze verify " +
                                    shell_quote((prefix / "lib/systemd/system/schedulo.service").string()) + " 2>&1");
    EXPECT_EQ(verify.status, 0) << verify.out;
  }
  // The example the package ships as /etc/schedulo/schedulo.json.example is a valid configuration.
  const auto check = run_command(shell_quote((prefix / "bin/schedulo").string()) + " config check " +
                                 shell_quote((prefix / "etc/schedulo/schedulo.json.example").string()) + " 2>&1");
  EXPECT_EQ(check.status, 0) << check.out;
  fs::remove_all(prefix);
}

TEST(DebianPackage, BuildsWithTrueDependsInstallsEnabledNotStartedVerifiesAndPurgesWithoutATrace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: dpkg, mounts and chroot (CI runs the suite as root)";

  // 1. Build the package from this tree (zstd; about 15 s for the ASan build).
  const fs::path out = fs::temp_directory_path() / ("schedulo-deb-" + std::to_string(::getpid()));
  fs::remove_all(out);
  const auto cpack = run_command("cd " + shell_quote(SCHEDULO_BUILD_DIR) + " && cpack -G DEB -B " +
                                 shell_quote(out.string()) + " 2>&1");
  ASSERT_EQ(cpack.status, 0) << cpack.out;
  fs::path deb;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().extension() == ".deb") deb = e.path();
  ASSERT_FALSE(deb.empty()) << cpack.out;

  // 2. Its contents and control data.
  const auto contents = run_command("dpkg-deb -c " + shell_quote(deb.string()));
  ASSERT_EQ(contents.status, 0);
  for (const auto& f : kPackagedFiles) EXPECT_NE(contents.out.find(" ." + f + "\n"), std::string::npos) << f;
  EXPECT_EQ(run_command("dpkg-deb -I " + shell_quote(deb.string()) + " conffiles").out,
            "/etc/schedulo/schedulo.json.example\n");
  const auto depends = run_command("dpkg-deb -f " + shell_quote(deb.string()) + " Depends").out;
  const auto declared = depends_names(depends);

  // 3. Depends names the package of every library the binaries need (read from the binaries with
  //    readelf, resolved by the dynamic linker's cache, owned per dpkg) — nothing forgotten.
  const fs::path unpacked = out / "root";
  ASSERT_EQ(run_command("dpkg-deb -x " + shell_quote(deb.string()) + " " + shell_quote(unpacked.string())).status, 0);
  for (const char* binary : {"usr/bin/schedulo", "usr/bin/schedulo-sandbox"}) {
    const auto needed = run_command("readelf -d " + shell_quote((unpacked / binary).string()) +
                                    " | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'");
    ASSERT_EQ(needed.status, 0);
    ASSERT_FALSE(lines(needed.out).empty()) << binary;
    for (const auto& soname : lines(needed.out)) {
      const auto path = library_path(soname);
      ASSERT_FALSE(path.empty()) << binary << " needs " << soname << ", which the dynamic linker cannot find";
      const auto owner = owning_package(path);
      ASSERT_FALSE(owner.empty()) << soname << " at " << path << " belongs to no package";
      // The owner by name, or a virtual package it provides (libspdlog1.10 provides
      // libspdlog1.10-fmt9, the name its shlibs file asks dependants to use).
      auto names = depends_names(run_command("dpkg-query -W -f='${Provides}' " + shell_quote(owner)).out);
      names.insert(owner);
      const bool listed =
          std::any_of(names.begin(), names.end(), [&](const std::string& n) { return declared.count(n) == 1; });
      EXPECT_TRUE(listed) << binary << " needs " << soname << " from " << owner << ", which Depends lacks: " << depends;
    }
  }

  // 4. A throwaway root.
  Overlay root;
  const auto why = root.make();
  if (why.find("EPERM") != std::string::npos || why.find("not permitted") != std::string::npos)
    GTEST_SKIP() << "this machine does not let root mount (" << why << "); the package checks above ran";
  ASSERT_EQ(why, "");
  ASSERT_FALSE(fs::exists(root.merged() / "run/systemd/system")) << "systemd would run in the throwaway root";
  fs::copy_file(deb, root.merged() / "tmp/schedulo.deb");

  // 5. dpkg -i: everything in place, the unit enabled but (no systemd here) not started.
  const auto install = root.in_root("dpkg -i /tmp/schedulo.deb");
  ASSERT_EQ(install.status, 0) << install.out;
  for (const auto& f : kPackagedFiles) EXPECT_TRUE(root.exists(f)) << f << " not installed";
  EXPECT_EQ(root.in_root("dpkg-query -W -f='${Status}' schedulo").out, "install ok installed");
  std::error_code ec;
  EXPECT_EQ(fs::read_symlink(root.merged() / std::string(kEnableLink).substr(1), ec).filename(), "schedulo.service")
      << "the unit is not enabled: " << install.out;
  EXPECT_EQ(fs::status(root.merged() / "etc/credstore").permissions() & fs::perms::all, fs::perms::owner_all);
  for (const auto& p : fs::directory_iterator("/proc")) {
    const auto exe = fs::read_symlink(p.path() / "exe", ec);
    EXPECT_TRUE(ec || exe.string().find(root.merged().string()) != 0) << "started: " << exe;
  }
  EXPECT_NE(install.out.find("systemctl start schedulo"), std::string::npos) << "no next step told";

  // 6. The installed binary runs, accepts the example configuration, and the unit verifies with it.
  const auto help = root.in_root("schedulo --help");
  EXPECT_EQ(help.status, 0) << help.out;
  const auto check = root.in_root("schedulo config check /etc/schedulo/schedulo.json.example");
  EXPECT_EQ(check.status, 0) << check.out;
  const auto verify = root.in_root("systemd-analyze verify /lib/systemd/system/schedulo.service");
  EXPECT_EQ(verify.status, 0) << verify.out;
  EXPECT_EQ(verify.out, "") << "systemd-analyze verify complained";
  const auto security = root.in_root("systemd-analyze security --offline=true /lib/systemd/system/schedulo.service");
  std::smatch level;
  ASSERT_TRUE(
      std::regex_search(security.out, level, std::regex(R"(Overall exposure level for schedulo\.service: ([0-9.]+))")))
      << security.out;
  EXPECT_LE(std::stod(level[1].str()), 2.0) << security.out;

  // 7. dpkg -r: the service is gone (files, unit, enablement); only the conffile waits for a purge.
  const auto remove = root.in_root("dpkg -r schedulo");
  ASSERT_EQ(remove.status, 0) << remove.out;
  for (const auto& f : kPackagedFiles) {
    if (f != "/etc/schedulo/schedulo.json.example") {
      EXPECT_FALSE(root.exists(f)) << f << " left after dpkg -r";
    }
  }
  EXPECT_FALSE(root.exists(kEnableLink)) << "enablement left after dpkg -r";
  EXPECT_EQ(root.in_root("dpkg-query -W -f='${Status}' schedulo").out, "deinstall ok config-files");
  std::vector<std::string> kept{"/etc/schedulo/", "/etc/schedulo/schedulo.json.example"};
  if (!fs::exists("/etc/credstore")) kept.insert(kept.begin(), "/etc/credstore/");
  EXPECT_EQ(without_bookkeeping(root.new_paths()), kept) << joined(root.new_paths());

  // 8. dpkg -P: nothing of the package is left, and nothing of the host's was touched.
  const auto purge = root.in_root("dpkg -P schedulo");
  ASSERT_EQ(purge.status, 0) << purge.out;
  fs::remove(root.merged() / "tmp/schedulo.deb");
  EXPECT_EQ(without_bookkeeping(root.new_paths()), std::vector<std::string>{}) << joined(root.new_paths());
  EXPECT_NE(root.in_root("dpkg-query -W schedulo").status, 0) << "dpkg still knows the package";

  fs::remove_all(out);
}

}  // namespace
