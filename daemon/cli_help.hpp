#pragma once
// What `schedulo ... --help` says beyond the options: for each command a footer with examples and
// its exit statuses, and one format for a bad argument:
//   schedulo dead retry: --platform: myspace not in {instagram,facebook,tiktok,x}
//   Run 'schedulo dead retry --help' for its usage.
// Commands declared later by other parts get a generic footer, so every command has one.
namespace CLI {
class App;
}

namespace schedulo::daemon {

// Call once every subcommand is declared, before parsing.
void describe_commands(CLI::App& app);

}  // namespace schedulo::daemon
