#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vg::cli {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

Result<std::vector<uint64_t>, std::string> read_file_aligned(const std::string& path, uint64_t max_size,
                                                             uint64_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err{"cannot open: " + errno_text()};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    std::string error = "cannot stat: " + errno_text();
    ::close(fd);
    return Err{error};
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Err{std::string("not a regular file")};
  }
  const auto file_size = static_cast<uint64_t>(info.st_size);
  if (file_size > max_size) {
    ::close(fd);
    return Err{"file too large (" + std::to_string(file_size) + " bytes, limit " + std::to_string(max_size) +
               ")"};
  }
  std::vector<uint64_t> storage((file_size + 7) / 8);
  auto* bytes = reinterpret_cast<uint8_t*>(storage.data());
  uint64_t done = 0;
  while (done < file_size) {
    const ssize_t got = ::read(fd, bytes + done, file_size - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      std::string error = got < 0 ? "cannot read: " + errno_text() : std::string("file shrank while reading");
      ::close(fd);
      return Err{error};
    }
    done += static_cast<uint64_t>(got);
  }
  ::close(fd);
  size = file_size;
  return storage;
}

namespace {

Result<void, std::string> write_all(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t put = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return Err{"cannot write: " + errno_text()};
    done += static_cast<size_t>(put);
  }
  return Ok{};
}

}  // namespace

Result<void, std::string> write_file_atomic(const std::string& path, std::string_view bytes) {
  // A device or pipe (/dev/null, /dev/stdout, a FIFO) is written in place:
  // renaming a temporary file over it would replace the device node.
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    if (S_ISDIR(existing.st_mode)) return Err{std::string("is a directory")};
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Err{"cannot open: " + errno_text()};
    auto written = write_all(fd, bytes);
    ::close(fd);
    return written;
  }
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Err{"cannot create: " + errno_text()};
  auto written = write_all(fd, bytes);
  if (!written.ok()) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return written;
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    std::string error = "cannot write: " + errno_text();
    ::unlink(temporary.c_str());
    return Err{error};
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string error = "cannot write: " + errno_text();
    ::unlink(temporary.c_str());
    return Err{error};
  }
  return Ok{};
}

}  // namespace vg::cli
