#include "agent/boot_diff.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/hex.h"

namespace vg::agent {

namespace {

// Closes the descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

Result<void, std::string> read_exact(int fd, uint64_t offset, uint8_t* out, uint64_t size,
                                     const std::string& path) {
  uint64_t done = 0;
  while (done < size) {
    const uint64_t want = std::min<uint64_t>(size - done, 1u << 20);
    const ssize_t got = pread(fd, out + done, want, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return Err(path + ": read of " + std::to_string(want) + " bytes at offset " +
                 std::to_string(offset + done) +
                 (got < 0 ? std::string(" failed: ") + std::strerror(errno) : std::string(": end of file")));
    }
    done += static_cast<uint64_t>(got);
  }
  return Ok{};
}

}  // namespace

Result<std::vector<uint8_t>, std::string> read_kcore(const std::string& path, uint64_t va, uint64_t size) {
  Fd file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return Err(path + ": " + std::strerror(errno));
  Elf64_Ehdr header;
  VG_TRY_VOID(read_exact(file.fd, 0, reinterpret_cast<uint8_t*>(&header), sizeof(header), path));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_type != ET_CORE) {
    return Err(path + ": not a 64-bit ELF core file");
  }
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 || header.e_phnum > 4096) {
    return Err(path + ": bad program header table (" + std::to_string(header.e_phnum) + " entries of " +
               std::to_string(header.e_phentsize) + " bytes)");
  }
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  VG_TRY_VOID(read_exact(file.fd, header.e_phoff, reinterpret_cast<uint8_t*>(segments.data()),
                         segments.size() * sizeof(Elf64_Phdr), path));
  if (va + size < va) return Err(path + ": range wraps around");
  for (const auto& segment : segments) {
    if (segment.p_type != PT_LOAD || segment.p_filesz > segment.p_memsz) continue;
    if (va < segment.p_vaddr || va + size > segment.p_vaddr + segment.p_filesz ||
        segment.p_vaddr + segment.p_filesz < segment.p_vaddr) {
      continue;
    }
    std::vector<uint8_t> bytes(size);
    // SAFETY: /proc/kcore hands out a copy of kernel memory; reading it
    // changes nothing in the kernel.
    VG_TRY_VOID(read_exact(file.fd, segment.p_offset + (va - segment.p_vaddr), bytes.data(), size, path));
    return bytes;
  }
  return Err(path + ": no loadable segment covers " + std::to_string(size) + " bytes at 0x" + [&] {
    char text[20];
    std::snprintf(text, sizeof(text), "%llx", static_cast<unsigned long long>(va));
    return std::string(text);
  }());
}

std::vector<TracePatch> diff_text(ByteView disk, ByteView live, uint64_t link_va,
                                  std::span<const uint64_t> cuts) {
  std::vector<TracePatch> patches;
  const size_t size = std::min(disk.size, live.size);
  size_t i = 0;
  while (i < size) {
    if (disk.data[i] == live.data[i]) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < size && disk.data[end] != live.data[end]) ++end;
    size_t start = i;
    while (start < end) {
      size_t piece_end = std::min(end, start + kTraceMaxBytes);
      // The first site that starts inside the piece (after its first byte) ends it.
      auto next_cut = std::upper_bound(cuts.begin(), cuts.end(), link_va + start);
      if (next_cut != cuts.end() && *next_cut < link_va + piece_end) piece_end = *next_cut - link_va;
      TracePatch patch;
      patch.va = link_va + start;
      patch.length = static_cast<uint8_t>(piece_end - start);
      std::memcpy(patch.old_bytes, disk.data + start, patch.length);
      std::memcpy(patch.new_bytes, live.data + start, patch.length);
      patches.push_back(patch);
      start = piece_end;
    }
    i = end;
  }
  return patches;
}

Result<std::vector<uint64_t>, std::string> parse_cut_list(std::string_view text) {
  std::vector<uint64_t> cuts;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    if (line.size() > 16) return Err("line " + std::to_string(line_number) + ": not a hex address");
    uint64_t value = 0;
    if (!parse_hex_u64(line, value)) {
      return Err("line " + std::to_string(line_number) + ": not a lower-case hex address");
    }
    cuts.push_back(value);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

}  // namespace vg::agent
