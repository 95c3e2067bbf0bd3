#pragma once

// netd-tunnel's whole command line (README, "netd-tunnel"); returns the
// exit code: 0 after a signal, 2 for a bad config or flag (one line naming
// the field), 1 for anything else that stopped it.
namespace netd::tunnel {

int main(int argc, char** argv);

} // namespace netd::tunnel
