#include "agent/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vg::agent {

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

Result<SocketAddress, std::string> parse_address(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Err("address '" + text + "' is not host:port");
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return Err("address '" + text + "': bad port");
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) return Err("address '" + text + "': port out of range");
  }
  if (port == 0) return Err("address '" + text + "': port 0");
  SocketAddress address;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) {
      return Err("address '" + text + "': not a numeric IPv6 address");
    }
    address.length = sizeof(sockaddr_in6);
    address.family = AF_INET6;
    return address;
  }
  auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  in4->sin_family = AF_INET;
  in4->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) != 1) {
    return Err("address '" + text + "': not a numeric IPv4 address");
  }
  address.length = sizeof(sockaddr_in);
  return address;
}

class FileTransport final : public Transport {
 public:
  explicit FileTransport(std::string path) : path_(std::move(path)) {}
  ~FileTransport() override {
    if (file_ != nullptr && file_ != stdout) std::fclose(file_);
  }
  Result<Ok, std::string> open() {
    if (path_ == "-") {
      file_ = stdout;
      return Ok{};
    }
    file_ = std::fopen(path_.c_str(), "a");
    if (file_ == nullptr) return Err(path_ + ": " + std::strerror(errno));
    return Ok{};
  }
  bool send(std::string_view record) override {
    if (file_ == nullptr) return false;
    if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) return false;
    return std::fputc('\n', file_) != EOF;
  }
  void flush() override {
    if (file_ != nullptr) std::fflush(file_);
  }
  void reopen() override {
    if (file_ == nullptr || file_ == stdout) return;
    std::fclose(file_);
    // A failed reopen leaves the transport refusing records; they are
    // counted as output drops until the next SIGHUP succeeds.
    file_ = std::fopen(path_.c_str(), "a");
  }
  const char* name() const override { return "file"; }

 private:
  std::string path_;
  FILE* file_ = nullptr;
};

class UdpTransport final : public Transport {
 public:
  ~UdpTransport() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Result<Ok, std::string> open(const std::string& text) {
    const SocketAddress address = VG_TRY(parse_address(text));
    fd_ = ::socket(address.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Err(std::string("udp socket: ") + std::strerror(errno));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
      return Err("udp connect " + text + ": " + std::strerror(errno));
    }
    return Ok{};
  }
  bool send(std::string_view record) override {
    // One message per datagram [RFC5426 3.1]; a refused datagram (no
    // listener yet: ECONNREFUSED) is a loss and is counted.
    return ::send(fd_, record.data(), record.size(), MSG_DONTWAIT | MSG_NOSIGNAL) ==
           static_cast<ssize_t>(record.size());
  }
  const char* name() const override { return "syslog_udp"; }

 private:
  int fd_ = -1;
};

class TcpTransport final : public Transport {
 public:
  TcpTransport(SocketAddress address, size_t max_pending) : address_(address), max_pending_(max_pending) {}
  ~TcpTransport() override {
    flush();
    if (fd_ >= 0) ::close(fd_);
  }
  bool send(std::string_view record) override {
    char prefix[24];
    const int n = std::snprintf(prefix, sizeof(prefix), "%zu ", record.size());
    const size_t framed = static_cast<size_t>(n) + record.size();
    if (pending_.size() + framed > max_pending_) {
      drain();
      if (pending_.size() + framed > max_pending_) return false;
    }
    pending_.append(prefix, static_cast<size_t>(n));
    pending_.append(record);
    drain();
    return true;
  }
  void flush() override { drain(); }
  const char* name() const override { return "syslog_tcp"; }

 private:
  bool connect_if_needed() {
    if (fd_ >= 0) return true;
    const uint64_t now = monotonic_ns();
    if (last_attempt_ns_ != 0 && now - last_attempt_ns_ < 1000000000u) return false;
    last_attempt_ns_ = now;
    fd_ = ::socket(address_.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address_.storage), address_.length) != 0) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    return true;
  }
  void drain() {
    while (!pending_.empty() && connect_if_needed()) {
      const ssize_t sent = ::send(fd_, pending_.data(), pending_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent > 0) {
        pending_.erase(0, static_cast<size_t>(sent));
        continue;
      }
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      // Peer gone: reconnect later. A partly sent record would corrupt the
      // framing on a new connection, so it goes with the old one.
      ::close(fd_);
      fd_ = -1;
      return;
    }
  }

  SocketAddress address_;
  size_t max_pending_;
  int fd_ = -1;
  uint64_t last_attempt_ns_ = 0;
  std::string pending_;
};

}  // namespace

Result<std::unique_ptr<Transport>, std::string> open_file_transport(const std::string& path) {
  auto transport = std::make_unique<FileTransport>(path);
  VG_TRY(transport->open());
  return std::unique_ptr<Transport>(std::move(transport));
}

Result<std::unique_ptr<Transport>, std::string> open_udp_transport(const std::string& address) {
  auto transport = std::make_unique<UdpTransport>();
  VG_TRY(transport->open(address));
  return std::unique_ptr<Transport>(std::move(transport));
}

Result<std::unique_ptr<Transport>, std::string> open_tcp_transport(const std::string& address,
                                                                   size_t max_pending) {
  const SocketAddress parsed = VG_TRY(parse_address(address));
  return std::unique_ptr<Transport>(std::make_unique<TcpTransport>(parsed, max_pending));
}

}  // namespace vg::agent
