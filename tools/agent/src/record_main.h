// Entry of the agent's record mode (vmplguard-agent --record FILE).
#pragma once

namespace vg::agent {

// Parses the record-mode command line and records until SIGTERM/SIGINT.
// Exit codes: 0 recorded (the trace ends with `end`), 1 failure, 2 usage.
int run_record_mode(int argc, char** argv);

}  // namespace vg::agent
