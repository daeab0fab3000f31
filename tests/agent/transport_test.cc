// Transports against real sockets on loopback: syslog over UDP (one message
// per datagram) and TCP (octet counting, RFC 6587 3.4.1), and the Prometheus
// endpoint scraped over HTTP and parsed strictly.
#include "agent/transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include "agent/metrics_server.h"
#include "agent/pipeline.h"
#include "agent_fixture.h"

namespace vg::agent {
namespace {

using namespace testing;

// A socket bound to 127.0.0.1 on a free port.
struct Listener {
  explicit Listener(int type) {
    fd = ::socket(AF_INET, type, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    if (type == SOCK_STREAM) ::listen(fd, 4);
  }
  ~Listener() { ::close(fd); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  int fd;
  uint16_t port;
};

std::string receive_all(int fd, size_t want) {
  std::string data;
  pollfd pfd{fd, POLLIN, 0};
  while (data.size() < want && ::poll(&pfd, 1, 2000) > 0) {
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

TEST(Syslog, UdpSendsOneMessagePerDatagram) {
  Listener listener(SOCK_DGRAM);
  auto transport = open_udp_transport(listener.address());
  ASSERT_TRUE(transport.ok()) << transport.error();
  ASSERT_TRUE((*transport)->send("<82>1 - first"));
  ASSERT_TRUE((*transport)->send("<86>1 - second"));
  EXPECT_EQ(receive_all(listener.fd, 1), "<82>1 - first");
  EXPECT_EQ(receive_all(listener.fd, 1), "<86>1 - second");
}

TEST(Syslog, TcpUsesOctetCountingFraming) {
  Listener listener(SOCK_STREAM);
  auto transport = open_tcp_transport(listener.address());
  ASSERT_TRUE(transport.ok()) << transport.error();
  Agent agent;
  FormatContext context;
  context.hostname = "cvm-7";
  std::string message;
  format_syslog(message, agent.classifier.classify(text_poke(at(0x310), {0x90})), context);
  ASSERT_TRUE((*transport)->send(message));
  ASSERT_TRUE((*transport)->send("<86>1 - x"));
  const int client = ::accept(listener.fd, nullptr, nullptr);
  ASSERT_GE(client, 0);
  const std::string expected = std::to_string(message.size()) + " " + message + "9 <86>1 - x";
  EXPECT_EQ(receive_all(client, expected.size()), expected);
  ::close(client);
}

TEST(Syslog, BadAddressesAreRefusedWithTheirReason) {
  EXPECT_NE(open_udp_transport("localhost:514").error().find("not a numeric IPv4 address"),
            std::string::npos);
  EXPECT_NE(open_tcp_transport("127.0.0.1:99999").error().find("port out of range"), std::string::npos);
  EXPECT_NE(open_tcp_transport("127.0.0.1").error().find("not host:port"), std::string::npos);
  EXPECT_TRUE(open_udp_transport("[::1]:514").ok());
}

TEST(Syslog, TcpQueueIsBoundedWhileThePeerIsAway) {
  Listener listener(SOCK_STREAM);
  const std::string address = listener.address();
  ::close(listener.fd);  // nobody listens any more
  listener.fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto transport = open_tcp_transport(address, 64);
  ASSERT_TRUE(transport.ok());
  EXPECT_TRUE((*transport)->send(std::string(40, 'a')));   // queued
  EXPECT_FALSE((*transport)->send(std::string(40, 'b')));  // over the bound: refused, caller counts it
}

// A strict reader of the Prometheus text format 0.0.4: every sample belongs
// to a family declared by # HELP and # TYPE before it, names and labels are
// well formed, counters end in _total, no series repeats.
struct Exposition {
  std::map<std::string, std::string> types;
  std::map<std::string, double> samples;  // "name{labels}" -> value
  std::string error;
};

Exposition parse_strictly(const std::string& text) {
  Exposition e;
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (-?[0-9]+(\.[0-9]+)?)$)");
  std::set<std::string> helped;
  size_t start = 0;
  if (text.empty() || text.back() != '\n') e.error = "exposition must end with a newline";
  while (e.error.empty() && start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      helped.insert(m[1]);
    } else if (std::regex_match(line, m, kType)) {
      if (!helped.count(m[1]) || e.types.count(m[1])) e.error = "TYPE without HELP or repeated: " + line;
      e.types[m[1]] = m[2];
      if (m[2] == "counter" && !std::string(m[1]).ends_with("_total"))
        e.error = "counter not _total: " + line;
    } else if (std::regex_match(line, m, kSample)) {
      if (!e.types.count(m[1])) e.error = "sample before its TYPE: " + line;
      const std::string series = line.substr(0, line.rfind(' '));
      if (!e.samples.emplace(series, std::stod(m[7])).second) e.error = "repeated series: " + line;
    } else {
      e.error = "malformed line: " + line;
    }
  }
  return e;
}

std::string http_get(uint16_t port, const std::string& path, MetricsServer& server, const Metrics& metrics) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return {};
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ::send(fd, request.data(), request.size(), 0);
  server.serve([&] {
    return metrics.exposition("6.12.117+deb12-cloud-amd64", "7f76f39f", "5c05\"e1",
                              {{"text_poke_bp_batch", "fentry", true}, {"native_write_cr0", "none", false}});
  });
  std::string response = receive_all(fd, 1 << 20);
  ::close(fd);
  return response;
}

TEST(Prometheus, ScrapeOverHttpParsesStrictlyAndCarriesTheCounters) {
  Agent agent;
  Metrics metrics;
  metrics.count_classified(agent.classifier.classify(text_poke(at(0x310), {0x90})));
  metrics.count_classified(agent.classifier.classify(text_patch(at(0x110), {0x0f, 0x1f, 0x44, 0x00, 0x00})));
  metrics.set_produced(12);
  metrics.add_exported(9);
  metrics.add_drop(DropStage::kDecode, 1);
  metrics.set_ring_drops(2);
  metrics.add_dedup_suppressed(4);
  metrics.add_sequence_gap(3);
  auto server = MetricsServer::listen_loopback(0);
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string response = http_get((*server)->port(), "/metrics", **server, metrics);
  ASSERT_EQ(response.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  const std::string body = response.substr(response.find("\r\n\r\n") + 4);
  const Exposition e = parse_strictly(body);
  ASSERT_EQ(e.error, "");
  EXPECT_EQ(e.types.at("vmplguard_violations_total"), "counter");
  EXPECT_EQ(e.samples.at(R"(vmplguard_violations_total{kind="text_poke",verdict="violation"})"), 1);
  EXPECT_EQ(e.samples.at(R"(vmplguard_violations_total{kind="text_patch",verdict="allowed"})"), 1);
  EXPECT_EQ(e.samples.at("vmplguard_events_produced_total"), 12);
  EXPECT_EQ(e.samples.at("vmplguard_events_exported_total"), 9);
  EXPECT_EQ(e.samples.at(R"(vmplguard_events_dropped_total{stage="decode"})"), 1);
  EXPECT_EQ(e.samples.at(R"(vmplguard_events_dropped_total{stage="ring_buffer"})"), 2);
  EXPECT_EQ(e.samples.at("vmplguard_dedup_suppressed_total"), 4);
  EXPECT_EQ(e.samples.at("vmplguard_monitor_sequence_gaps_total"), 3);
  EXPECT_EQ(e.samples.at(R"(vmplguard_probe_attached{probe="native_write_cr0",mode="none"})"), 0);
  // Label values are escaped: the quote in the digest does not break the line.
  EXPECT_EQ(
      e.samples.count(
          R"(vmplguard_build_info{version="0.1.0",kernel_release="6.12.117+deb12-cloud-amd64",build_id="7f76f39f",policy_digest="5c05\"e1"})"),
      1u);
  EXPECT_EQ(http_get((*server)->port(), "/other", **server, metrics).rfind("HTTP/1.0 404", 0), 0u);
}

TEST(Prometheus, TheStrictParserRejectsBrokenExpositions) {
  EXPECT_NE(parse_strictly("a_total 1\n").error, "");                          // no TYPE
  EXPECT_NE(parse_strictly("# HELP a x\n# TYPE a counter\na 1\n").error, "");  // counter without _total
  EXPECT_NE(parse_strictly("# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v} 1\n").error, "");
  EXPECT_NE(parse_strictly("# HELP a_total x\n# TYPE a_total counter\na_total 1\na_total 2\n").error, "");
  EXPECT_EQ(parse_strictly("# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} 1\n").error, "");
}

}  // namespace
}  // namespace vg::agent
