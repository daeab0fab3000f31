// A minimal HTTP/1.0 responder for Prometheus scrapes, bound to loopback
// only: the metrics describe the host's security state and are not for the
// network. Non-blocking; the agent's loop calls serve() between polls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"

namespace vg::agent {

class MetricsServer {
 public:
  ~MetricsServer();
  // Port 0 picks a free port (tests); port() tells which.
  static Result<std::unique_ptr<MetricsServer>, std::string> listen_loopback(uint16_t port);
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  // Answers every pending connection with `render()` (GET /metrics) or 404.
  void serve(const std::function<std::string()>& render);

 private:
  MetricsServer(int fd, uint16_t port) : fd_(fd), port_(port) {}
  int fd_;
  uint16_t port_;
};

}  // namespace vg::agent
