// Where records go: files (NDJSON, reopened on SIGHUP for log rotation),
// syslog over UDP (one message per datagram) or TCP (octet-counting framing
// [RFC6587 3.4.1]). Every transport is bounded: a record that cannot be
// written or queued is refused, and the caller counts it as dropped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace vg::agent {

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one record (without framing or trailing newline). False: not
  // delivered and not queued.
  virtual bool send(std::string_view record) = 0;
  virtual void flush() {}
  virtual void reopen() {}
  virtual const char* name() const = 0;
};

// "-" is standard output.
Result<std::unique_ptr<Transport>, std::string> open_file_transport(const std::string& path);
// "host:port" with a numeric IPv4 or IPv6 address ("[::1]:514").
Result<std::unique_ptr<Transport>, std::string> open_udp_transport(const std::string& address);
// Connects lazily and reconnects (at most once a second); queues at most
// `max_pending` bytes while the peer is slow.
Result<std::unique_ptr<Transport>, std::string> open_tcp_transport(const std::string& address,
                                                                   size_t max_pending = 1 << 20);

}  // namespace vg::agent
