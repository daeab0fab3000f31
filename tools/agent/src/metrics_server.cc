#include "agent/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vg::agent {

MetricsServer::~MetricsServer() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<MetricsServer>, std::string> MetricsServer::listen_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(std::string("metrics socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 16) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    return Err("metrics listen on 127.0.0.1:" + std::to_string(port) + ": " + error);
  }
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return std::unique_ptr<MetricsServer>(new MetricsServer(fd, ntohs(address.sin_port)));
}

void MetricsServer::serve(const std::function<std::string()>& render) {
  for (;;) {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    // Read the request line with a short bound: a slow or hostile client
    // must not stall the event loop.
    char request[1024];
    size_t got = 0;
    pollfd pfd{client, POLLIN, 0};
    while (got < sizeof(request) - 1 && ::poll(&pfd, 1, 200) > 0) {
      const ssize_t n = ::recv(client, request + got, sizeof(request) - 1 - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
      if (std::memchr(request, '\n', got) != nullptr) break;
    }
    request[got] = '\0';
    std::string response;
    if (std::strncmp(request, "GET /metrics ", 13) == 0 || std::strncmp(request, "GET / ", 6) == 0) {
      const std::string body = render();
      response =
          "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    } else {
      response = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
    size_t sent = 0;
    pollfd out{client, POLLOUT, 0};
    while (sent < response.size() && ::poll(&out, 1, 200) > 0) {
      const ssize_t n = ::send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::close(client);
  }
}

}  // namespace vg::agent
